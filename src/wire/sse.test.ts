import { describe, expect, it } from "vitest";
import { hasObjectField, SseScanner, stringEnd, TextCollector } from "./sse";

function events(parts: string[]): [string | null, string][] {
  const out: [string | null, string][] = [];
  const s = new SseScanner((name, data) => out.push([name, data]));
  for (const p of parts) s.push(new TextEncoder().encode(p));
  s.end();
  return out;
}

describe("SseScanner", () => {
  it("splits events on blank lines, LF or CRLF, skipping comments, joining data lines", () => {
    const text =
      ": OPENROUTER PROCESSING\r\n\r\nevent: a\r\ndata: 1\r\ndata:2\r\n\r\ndata: x\n\nid: 7\nretry: 10\ndata: last";
    expect(events([text])).toEqual([
      ["a", "1\n2"],
      [null, "x"],
      [null, "last"],
    ]);
    // Same events whatever the cuts.
    for (let i = 0; i < text.length; i++) expect(events([text.slice(0, i), text.slice(i)])).toEqual(events([text]));
  });

  it("keeps multi-byte characters whole across cuts", () => {
    const bytes = new TextEncoder().encode("data: héllo 世界 🎉\n\n");
    for (let i = 0; i < bytes.length; i++) {
      const out: string[] = [];
      const s = new SseScanner((_n, d) => out.push(d));
      s.push(bytes.subarray(0, i));
      s.push(bytes.subarray(i));
      s.end();
      expect(out).toEqual(["héllo 世界 🎉"]);
    }
  });
});

describe("helpers", () => {
  it("hasObjectField finds a non-null object under any occurrence of the key", () => {
    expect(hasObjectField('{"usage":null}', "usage")).toBe(false);
    expect(hasObjectField('{"usage" : {"a":1}}', "usage")).toBe(true);
    expect(hasObjectField('{"usage":null,"x_groq":{"usage":{"a":1}}}', "usage")).toBe(true);
    expect(hasObjectField('{"content":"the \\"usage\\": x"}', "usage")).toBe(false);
  });

  it("stringEnd skips escaped quotes", () => {
    const s = '"a\\"b\\\\"rest';
    expect(stringEnd(s, 1)).toBe(7);
  });

  it("TextCollector unescapes and counts", () => {
    const t = new TextCollector(['content":']);
    t.scan('{"delta":{"content":"h\\u00e9llo \\"q\\"\\n"}}');
    t.scan('{"delta":{"content":"世界 🎉 and a somewhat longer piece"}}');
    expect(t.text()).toBe('héllo "q"\n世界 🎉 and a somewhat longer piece');
    expect(t.chars).toBeGreaterThan(20);
  });
});
