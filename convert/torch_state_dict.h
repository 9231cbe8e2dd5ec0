// Reading a state dict as python's `torch.save` writes it, without python.
//
// Both formats of torch 1.6+: the zip archive (default; `data.pkl` plus one record per storage,
// read with LibTorch's caffe2::serialize::PyTorchStreamReader once the central directory shows
// no record claiming more bytes than it could hold, convert/zip_directory.h) and the legacy stream
// (`_use_new_zipfile_serialization=False`: a magic-number pickle, a protocol-version pickle, a
// sys-info pickle, the object's pickle, a pickle of the storage keys, then each storage as an
// int64 element count and its raw bytes).
//
// LibTorch's own torch::pickle_load cannot be used: in 1.13 its unpickler turns
// `collections.OrderedDict` into None (it only expects one as a tensor's empty backward hooks),
// and `model.state_dict()` *is* an OrderedDict (checked: "Expected GenericDict but got None");
// it also rejects SETITEM ("Unknown opcode 0x73"), which python uses for a one-entry dict. So this is a small, strict unpickler for the subset
// torch.save uses for state dicts (protocols 2 to 4): dicts, OrderedDicts, lists, tuples,
// ints, floats, strings, None/bools, storages (persistent ids) and tensors
// (torch._utils._rebuild_tensor_v2 / _rebuild_parameter). Any other opcode or global, a bad memo
// index, a tensor that does not fit its storage or a short file is an exception naming the file
// and the byte offset.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace facekit {

// Names and tensors in the file's order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads a state dict (a dict or OrderedDict of name -> tensor), also when it is wrapped in a dict
// under 'state_dict' or 'model' (as training scripts save checkpoints). Tensors are on the CPU.
StateDict read_torch_state_dict(const std::string& path);

}  // namespace facekit
