/**
 * A minimal ONNX (protobuf) encoder: enough to write small models built from arrays, such as the
 * bundled crop model, without a Python toolchain. Field numbers are those of onnx.proto (proto2;
 * repeated scalars are written unpacked, which every protobuf parser accepts).
 */

class Writer {
  private parts: Buffer[] = [];

  private varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v > 0n);
    this.parts.push(Buffer.from(bytes));
  }

  int(field: number, value: number): this {
    this.varint((field << 3) | 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.varint((field << 3) | 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array | string): this {
    const data = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    this.varint((field << 3) | 2);
    this.varint(data.length);
    this.parts.push(data);
    return this;
  }

  message(field: number, inner: Writer): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const TensorFloat = 1;
const AttrFloat = 1;
const AttrInt = 2;
const AttrInts = 7;

export type Attribute = { name: string } & ({ int: number } | { ints: number[] } | { float: number });

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  values: Float32Array;
}

/** A tensor's shape: numbers are fixed, strings are named free dimensions ("batch"). */
export interface OnnxValue {
  name: string;
  shape: (number | string)[];
}

export interface OnnxModel {
  producer: string;
  doc: string;
  opset: number;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

function attribute(a: Attribute): Writer {
  const w = new Writer().bytes(1, a.name);
  if ("int" in a) return w.int(3, a.int).int(20, AttrInt);
  if ("float" in a) return w.float(2, a.float).int(20, AttrFloat);
  for (const v of a.ints) w.int(8, v);
  return w.int(20, AttrInts);
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.shape)
    shape.message(1, typeof d === "number" ? new Writer().int(1, d) : new Writer().bytes(2, d));
  const tensorType = new Writer().int(1, TensorFloat).message(2, shape);
  return new Writer().bytes(1, v.name).message(2, new Writer().message(1, tensorType));
}

function tensor(t: OnnxTensor): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  return w
    .int(2, TensorFloat)
    .bytes(8, t.name)
    .bytes(9, new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
}

/** Serialises a model; the same model always gives the same bytes. */
export function encodeOnnx(model: OnnxModel): Buffer {
  const graph = new Writer();
  model.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const input of n.inputs) node.bytes(1, input);
    for (const output of n.outputs) node.bytes(2, output);
    node.bytes(3, `${n.op.toLowerCase()}_${i}`).bytes(4, n.op);
    for (const a of n.attributes ?? []) node.message(5, attribute(a));
    graph.message(1, node);
  });
  graph.bytes(2, "main");
  for (const t of model.initializers) graph.message(5, tensor(t));
  for (const v of model.inputs) graph.message(11, valueInfo(v));
  for (const v of model.outputs) graph.message(12, valueInfo(v));
  return new Writer()
    .int(1, 8) // IR version 8
    .bytes(2, model.producer)
    .bytes(6, model.doc)
    .message(7, graph)
    .message(8, new Writer().bytes(1, "").int(2, model.opset))
    .finish();
}
