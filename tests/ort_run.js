// Runs an ONNX model in ONNX Runtime (the npm package onnxruntime-node, a reference nobody here
// wrote) and writes every output as float32 .npy.
//   node tests/ort_run.js MODEL.onnx INPUT.npy OUT_DIR [fp16]
// (fp16: the model's input is float16; float16 outputs are widened to float32 in the .npy)
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

// IEEE half <-> float for float16 models (Node 20 has no Float16Array).
const scratch = new DataView(new ArrayBuffer(4));
function toHalf(value) {
  scratch.setFloat32(0, value);
  const x = scratch.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (exponent <= 0) {  // subnormal half, or too small: zero
    return exponent < -10 ? sign : sign | ((mantissa | 0x800000) >>> (14 - exponent));
  }
  if (exponent >= 31) return sign | 0x7c00;
  const rounded = (exponent << 10) | (mantissa >>> 13);
  return sign | (rounded + ((mantissa >>> 12) & 1));  // round half up on the dropped bits
}
function fromHalf(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

async function main() {
  const [modelPath, inputPath, outDir] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'disabled' });
  const input = readNpy(inputPath);
  const half = process.argv[5] === 'fp16';
  const tensor = half ? new ort.Tensor('float16', Uint16Array.from(input.data, toHalf), input.shape)
                      : new ort.Tensor('float32', input.data, input.shape);
  const results = await session.run({ [session.inputNames[0]]: tensor });
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    const out = results[name];
    const data = out.type === 'float16' ? Array.from(out.data, fromHalf) : out.data;
    writeNpy(path.join(outDir, `${name}.npy`), out.dims, data);
  }
}

main().catch((error) => {
  console.error(`ort_run: ${error.message}`);
  process.exit(1);
});
