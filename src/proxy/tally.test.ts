import { describe, expect, it } from "vitest";
import { nowMs } from "../lib/clock";
import { createUsageChunkStripperCore } from "../wire";
import { type Meter, newCapture, tallyStream } from "./tally";

const enc = new TextEncoder();
const dec = new TextDecoder();
const meter = (): Meter => ({ push() {}, finish: () => ({ usage: null, model: null, complete: true }) });
const source = (parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
const usageOnly = 'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n';
const content = 'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n';

describe("tallyStream's trailer and capture", () => {
  it("writes the trailer after the upstream's last byte, from the tally; the capture keeps the client's bytes", async () => {
    const capture = newCapture(1024);
    const { clientBody, done } = tallyStream(source([content, usageOnly, "data: [DONE]\n\n"]), meter(), {
      startedAt: nowMs(),
      stripper: createUsageChunkStripperCore(),
      trailer: (t) => enc.encode(`: end ${t.complete}\n\n`),
      capture,
    });
    const text = await new Response(clientBody).text();
    await done;
    expect(text).toBe(`${content}data: [DONE]\n\n: end true\n\n`);
    expect(dec.decode(capture.view())).toBe(`${content}data: [DONE]\n\n`);
  });

  it("without stripper or trailer: the client's branch is the upstream's bytes, and the capture too", async () => {
    const capture = newCapture(1024);
    const { clientBody, done } = tallyStream(source([content, usageOnly]), meter(), { startedAt: nowMs(), capture });
    expect(await new Response(clientBody).text()).toBe(content + usageOnly);
    await done;
    expect(dec.decode(capture.view())).toBe(content + usageOnly);
  });

  it("a capture past its limit gives up and keeps nothing", async () => {
    const capture = newCapture(10);
    const { clientBody, done } = tallyStream(source([content]), meter(), { startedAt: nowMs(), capture });
    await new Response(clientBody).text();
    await done;
    expect(capture.overflow).toBe(true);
    expect(capture.length).toBe(0);
  });
});
