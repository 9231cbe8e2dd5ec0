"""Reference outputs of torchvision's Inception-v3 for tests/classifier_test.cpp.

Run with Debian's python (/usr/bin/python3: python3-torch, python3-torchvision):
    /usr/bin/python3 tests/torchvision_ref.py inception|formats OUT_DIR

`inception` writes to OUT_DIR:
  inception_v3.pth        state dict of inception_v3(weights=None, aux_logits=True, init_weights=True),
                          seeded, with BatchNorm affine parameters randomised and running statistics
                          measured by one training-mode forward on random images (momentum=None:
                          the plain batch average), so activations stay realistic through 94 layers
  input.npy               2 x 3 x 299 x 299 float32, the test input
  logits.npy              eval-mode logits (2 x 1000)
  features.npy            eval-mode pooled features (2 x 2048, avgpool + flatten, before dropout)
  aux_train.npy           training-mode AuxLogits output on the same input; dropout only touches the
                          main branch and BatchNorm uses the batch statistics, so it is deterministic
`formats` writes:
  small_zip.pth, small_legacy.pth, small_plain.pth, small_wrapped.pth
                          one small state dict saved four ways: OrderedDict (zip), OrderedDict (legacy
                          format), plain dict (zip), {'epoch': 3, 'state_dict': ...} (legacy); it holds
                          float32/float64/float16/int64 tensors, a 0-d tensor and a view with a storage
                          offset into another entry's storage
  small_single.pth        a one-entry dict (pickled with SETITEM)
  small_deflated.pth      small_zip.pth's records re-zipped by python's zipfile with deflate
  small_zip64.pth         the same records deflated, with zip64 sizes and a zip64 end record
  zip_records.tsv         per archive and record: file, name, method, compressed size, size, as
                          python's zipfile lists them (torch.load reads both re-zipped archives)
  small_ref.npy           the small state dict's float32 tensors flattened and concatenated in order
"""
import collections
import os
import sys
import zipfile

import numpy as np
import torch
import torchvision

SEED = 20261128
BATCH = 2
SIZE = 299


def randomise_batchnorm(model):
    """Non-trivial affine parameters, and statistics measured from one batch of random images."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, exactly its statistics
    model.train()
    with torch.no_grad():
        model(torch.randn(BATCH, 3, SIZE, SIZE))


def inception_reference(out):
    model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)
    randomise_batchnorm(model)
    torch.save(model.state_dict(), os.path.join(out, "inception_v3.pth"))

    x = torch.randn(BATCH, 3, SIZE, SIZE)
    np.save(os.path.join(out, "input.npy"), x.numpy())
    pooled = {}
    model.avgpool.register_forward_hook(lambda _m, _i, o: pooled.setdefault("x", torch.flatten(o, 1)))
    model.eval()
    with torch.no_grad():
        logits = model(x)
        np.save(os.path.join(out, "logits.npy"), logits.numpy())
        np.save(os.path.join(out, "features.npy"), pooled["x"].numpy())
        model.train()
        np.save(os.path.join(out, "aux_train.npy"), model(x).aux_logits.numpy())


def small_state_dict():
    base = torch.randn(12)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(4, 3, 3, 3)
    sd["bn.running_mean"] = torch.randn(4)
    sd["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd["fc.weight"] = torch.randn(5, 6).double()
    sd["fc.bias"] = torch.randn(5).half()
    sd["scalar"] = torch.tensor(2.5)
    sd["base"] = base
    sd["view"] = base[4:10].view(2, 3)  # storage offset 4, shares `base`'s storage
    return sd


def rezip(src, dst, method, zip64):
    """Copies a zip's records; zip64 lowers zipfile's limit so every size and the end record use it."""
    limit = zipfile.ZIP64_LIMIT
    if zip64:
        zipfile.ZIP64_LIMIT = 1
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", method) as zout:
            for info in zin.infolist():
                zout.writestr(info.filename, zin.read(info.filename))
    finally:
        zipfile.ZIP64_LIMIT = limit
    reloaded, original = torch.load(dst), torch.load(src)
    assert all(torch.equal(reloaded[k], original[k]) for k in original), dst


def zip_records(out, names):
    with open(os.path.join(out, "zip_records.tsv"), "w") as f:
        for name in names:
            with zipfile.ZipFile(os.path.join(out, name)) as z:
                for i in z.infolist():
                    f.write(f"{name}\t{i.filename}\t{i.compress_type}\t{i.compress_size}\t{i.file_size}\n")


def formats_reference(out):
    sd = small_state_dict()
    torch.save(sd, os.path.join(out, "small_zip.pth"))
    torch.save(sd, os.path.join(out, "small_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(dict(sd), os.path.join(out, "small_plain.pth"))
    torch.save({"epoch": 3, "state_dict": sd}, os.path.join(out, "small_wrapped.pth"),
               _use_new_zipfile_serialization=False)
    torch.save({"one": torch.arange(3.0)}, os.path.join(out, "small_single.pth"))  # SETITEM, not SETITEMS
    zipped = os.path.join(out, "small_zip.pth")
    rezip(zipped, os.path.join(out, "small_deflated.pth"), zipfile.ZIP_DEFLATED, zip64=False)
    rezip(zipped, os.path.join(out, "small_zip64.pth"), zipfile.ZIP_DEFLATED, zip64=True)
    zip_records(out, ["small_zip.pth", "small_deflated.pth", "small_zip64.pth"])
    flat = [t.reshape(-1) for t in sd.values() if t.dtype == torch.float32]
    np.save(os.path.join(out, "small_ref.npy"), torch.cat(flat).numpy())


def main():
    mode, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(SEED)
    {"inception": inception_reference, "formats": formats_reference}[mode](out)


if __name__ == "__main__":
    main()
