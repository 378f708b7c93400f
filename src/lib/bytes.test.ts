import { describe, expect, it } from "vitest";
import { ByteBuffer, concatBytes } from "./bytes";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("ByteBuffer", () => {
  it("keeps copies: the caller may reuse its buffers at once", () => {
    const b = new ByteBuffer();
    const scratch = new Uint8Array(4096);
    let expected = "";
    for (let i = 0; i < 500; i++) {
      const piece = `data: {"n":${i}}\n\n`;
      expected += piece;
      const n = enc.encodeInto(piece, scratch).written;
      b.append(scratch.subarray(0, n));
      scratch.fill(0); // what a reused read buffer does to a kept view
    }
    expect(b.length).toBe(enc.encode(expected).byteLength);
    expect(dec.decode(b.view())).toBe(expected);
  });

  it("holds no view of the chunks it was given", () => {
    const b = new ByteBuffer();
    const chunk = new Uint8Array(new ArrayBuffer(4096), 0, 200).fill(65);
    b.append(chunk);
    expect(b.view().buffer).not.toBe(chunk.buffer);
    expect(dec.decode(b.view())).toBe("A".repeat(200));
  });

  it("past its max: empty, overflow, and keeps nothing after", () => {
    const b = new ByteBuffer(10);
    b.append(enc.encode("12345"));
    b.append(enc.encode("67890"));
    expect(dec.decode(b.view())).toBe("1234567890");
    b.append(enc.encode("x"));
    expect(b.overflow).toBe(true);
    expect(b.length).toBe(0);
    b.append(enc.encode("y"));
    expect(b.length).toBe(0);
  });

  it("a chunk larger than the doubled capacity grows to fit", () => {
    const b = new ByteBuffer();
    b.append(new Uint8Array(10).fill(1));
    b.append(new Uint8Array(100_000).fill(2));
    expect(b.length).toBe(100_010);
    expect(b.view()[9]).toBe(1);
    expect(b.view()[100_009]).toBe(2);
  });
});

describe("concatBytes", () => {
  it("joins in order; one chunk is returned as it is", () => {
    const one = enc.encode("a");
    expect(concatBytes([one])).toBe(one);
    expect(dec.decode(concatBytes([enc.encode("ab"), enc.encode(""), enc.encode("c")]))).toBe("abc");
  });
});
