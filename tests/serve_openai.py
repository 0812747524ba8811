#!/usr/bin/env python3
"""The official `openai` client against `minilm serve`.

Asks the running server for embeddings with openai's default encoding
(base64) and with floats, and checks them against `minilm embed`'s output
for the same texts: floats must be the same numbers, base64 the same f32
bits. Also checks that a wrong key raises AuthenticationError and a bad
request BadRequestError. Exits 1 with a message on any difference.

    python tests/serve_openai.py --base-url http://127.0.0.1:PORT/v1 \
        --api-key KEY --minilm target/release/minilm
"""
import argparse
import json
import struct
import subprocess
import sys

import openai

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "Zwei Männer schieben Karren über die Brücke — 東京タワー 🙂",
    "short",
    " ".join(f"word{(i * 7) % 50}" for i in range(300)),  # truncated at 256
]


def fail(msg):
    print(f"serve_openai: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--minilm", required=True)
    a = ap.parse_args()

    lines = "".join(json.dumps({"text": t}) + "\n" for t in TEXTS)
    out = subprocess.run([a.minilm, "embed"], input=lines.encode(), capture_output=True, check=True)
    want = [json.loads(l)["embedding"] for l in out.stdout.decode().splitlines()]
    if len(want) != len(TEXTS):
        fail(f"minilm embed gave {len(want)} lines for {len(TEXTS)} texts")

    client = openai.OpenAI(base_url=a.base_url, api_key=a.api_key, max_retries=0)
    model = "all-MiniLM-L6-v2"
    # openai's default: base64 on the wire, decoded by the client.
    r = client.embeddings.create(model=model, input=TEXTS)
    got = [d.embedding for d in sorted(r.data, key=lambda d: d.index)]
    for i, (g, w) in enumerate(zip(got, want)):
        if len(g) != 384 or any(x != f32(y) for x, y in zip(g, w)):
            fail(f"base64 embedding {i} differs from minilm embed's")
    if r.usage.prompt_tokens <= 0 or r.usage.total_tokens != r.usage.prompt_tokens:
        fail(f"usage {r.usage}")
    # Floats: the very numbers minilm embed writes.
    r = client.embeddings.create(model=model, input=TEXTS, encoding_format="float")
    got = [d.embedding for d in sorted(r.data, key=lambda d: d.index)]
    if got != want:
        fail("float embeddings differ from minilm embed's")
    # One string in, one embedding out.
    r = client.embeddings.create(model=model, input=TEXTS[0], encoding_format="float")
    if [d.embedding for d in r.data] != want[:1]:
        fail("a single-string input differs")
    # Errors arrive as the client's exceptions, with the server's message.
    bad = openai.OpenAI(base_url=a.base_url, api_key=a.api_key + "x", max_retries=0)
    try:
        bad.embeddings.create(model=model, input="x")
        fail("a wrong key was accepted")
    except openai.AuthenticationError as e:
        if "wrong" not in str(e):
            fail(f"401 message: {e}")
    try:
        client.embeddings.create(model=model, input=[])
        fail("an empty input was accepted")
    except openai.BadRequestError as e:
        if "empty" not in str(e):
            fail(f"400 message: {e}")
    print(f"serve_openai: ok (openai {openai.__version__}, {len(TEXTS)} texts, base64 and float match minilm embed)")


if __name__ == "__main__":
    main()
