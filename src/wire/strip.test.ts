import { describe, expect, it } from "vitest";
import { createUsageChunkStripper, createUsageChunkStripperCore } from "./index";

const enc = new TextEncoder();
const dec = new TextDecoder();
const chunk = (content: string) =>
  `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}],"usage":null}\n\n`;
const usageChunk =
  'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}\n\n';

function run(parts: string[]): { out: string; perPush: string[] } {
  const s = createUsageChunkStripperCore();
  const perPush: string[] = [];
  for (const p of parts)
    perPush.push(
      s
        .push(enc.encode(p))
        .map((b) => dec.decode(b))
        .join(""),
    );
  perPush.push(
    s
      .flush()
      .map((b) => dec.decode(b))
      .join(""),
  );
  return { out: perPush.join(""), perPush };
}

describe("usage chunk stripper", () => {
  it("forwards whole events at once, as the same bytes, and removes only the usage-only event", () => {
    const s = createUsageChunkStripperCore();
    const a = enc.encode(chunk("héllo"));
    expect(s.push(a)[0]).toBe(a); // zero-copy pass-through
    expect(s.push(enc.encode(usageChunk))).toEqual([]);
    expect(s.push(enc.encode("data: [DONE]\n\n")).map((b) => dec.decode(b))).toEqual(["data: [DONE]\n\n"]);
    expect(s.stripped).toBe(1);
  });

  it("holds back only until the event shows non-empty choices", () => {
    const ev = chunk("a long content ".repeat(50));
    const cut = ev.indexOf('"choices":[') + '"choices":['.length + 1; // just past the `{`
    const { perPush } = run([ev.slice(0, 40), ev.slice(40, cut), ev.slice(cut, cut + 100), ev.slice(cut + 100)]);
    expect(perPush[0]).toBe(""); // "data: {…" could still be the usage chunk
    expect(perPush[1]).toBe(ev.slice(0, cut)); // decided: everything so far goes out
    expect(perPush[2]).toBe(ev.slice(cut, cut + 100)); // then no delay at all
    expect(perPush[3]).toBe(ev.slice(cut + 100));
  });

  it("a candidate is held until its blank line, then dropped; CRLF too", () => {
    const crlf = usageChunk.replace(/\n/g, "\r\n");
    const { perPush, out } = run([chunk("x"), crlf.slice(0, crlf.length - 1), crlf.slice(-1), "data: [DONE]\r\n\r\n"]);
    expect(perPush[1]).toBe("");
    expect(perPush[2]).toBe("");
    expect(out).toBe(`${chunk("x")}data: [DONE]\r\n\r\n`);
  });

  it("keeps usage chunks that have choices, empty-choices chunks without usage, and non-JSON", () => {
    const withChoices =
      'data: {"id":"d","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n';
    const azureFilter =
      'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[],"usage":null}\n\n';
    const notJson = 'data: {"choices":[] oops\n\n';
    const twoLines = 'data: {"choices":[],\ndata: "usage":{"prompt_tokens":1}}\n\n';
    const input = [withChoices, azureFilter, notJson, twoLines, ": comment\n\n", "event: x\n\n"];
    expect(run(input).out).toBe(input.join(""));
  });

  it("an incomplete candidate at the end of the stream is passed, not dropped", () => {
    expect(run([chunk("a"), usageChunk.slice(0, -1)]).out).toBe(chunk("a") + usageChunk.slice(0, -1));
  });

  it("works as a TransformStream", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of [chunk("é"), usageChunk.slice(0, 30), usageChunk.slice(30), "data: [DONE]\n\n"])
          c.enqueue(enc.encode(p));
        c.close();
      },
    });
    const text = await new Response(body.pipeThrough(createUsageChunkStripper())).text();
    expect(text).toBe(`${chunk("é")}data: [DONE]\n\n`);
  });
});
