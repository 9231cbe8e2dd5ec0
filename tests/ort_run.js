// Runs an ONNX model in ONNX Runtime (the npm package onnxruntime-node, a reference nobody here
// wrote) and writes every output as float32 .npy.
//   node tests/ort_run.js MODEL.onnx INPUT.npy OUT_DIR
// NODE_PATH must include tools/ort/node_modules (the tests set it).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString('latin1', 10, 10 + headerLength);
  if (!header.includes("'descr': '<f4'")) throw new Error(`${file}: only float32 is supported`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const offset = 10 + headerLength;
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + bytes.length));
  return { shape, data };
}

function writeNpy(file, dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.map((d) => `${d}, `).join('')}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const floats = Float32Array.from(data, Number);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(floats.buffer)]));
}

async function main() {
  const [modelPath, inputPath, outDir] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'disabled' });
  const input = readNpy(inputPath);
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.shape) });
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    writeNpy(path.join(outDir, `${name}.npy`), results[name].dims, results[name].data);
  }
}

main().catch((error) => {
  console.error(`ort_run: ${error.message}`);
  process.exit(1);
});
