#!/usr/bin/env python3
"""Generate the benchmark corpus: benches/corpus/corpus.jsonl.

2,000 lines of JSON `{"text": ...}` of natural-ish English, assembled from the
word lists and sentence templates below with a fixed seed, so the file is the
same on every machine and every run (standard library only; the output is
committed, this script documents and re-creates it).

Lengths have a long tail, like real sentence-embedding inputs:
  * most lines are one short sentence (5-20 words),
  * some are two or three sentences (20-50 words),
  * a few percent are paragraphs of 50-150 words,
  * a handful are longer than the model's 256 word-piece limit (truncated).

With the all-MiniLM-L6-v2 tokenizer (truncation at 256, [CLS] and [SEP]
included) the corpus has 60,518 word pieces in total, 30.26 per line on
average (median 17, p90 60, p99 158; 16 lines are truncated at 256);
`--stats` prints these figures (it needs the
`tokenizers` package, e.g. from benches/peers/.venv).

    python3 benches/corpus/make_corpus.py            # write corpus.jsonl
    benches/peers/.venv/bin/python benches/corpus/make_corpus.py --stats
"""

import argparse
import json
import os
import random

SEED = 20261129
LINES = 2000

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- word lists
TOPICS = {
    "sports": {
        "agents": ["the striker", "the home team", "our goalkeeper", "the coach", "the young sprinter",
                   "the veteran captain", "the visiting side", "the referee", "the tennis champion",
                   "the rookie quarterback", "the cycling team", "the marathon runner"],
        "objects": ["the final match", "a late penalty", "the league title", "the second half",
                    "a new world record", "the opening game", "the championship trophy", "the transfer window",
                    "the training camp", "a narrow victory", "the season opener", "the away fixture"],
        "verbs": ["won", "lost", "dominated", "celebrated", "missed", "defended", "secured", "watched",
                  "prepared for", "struggled in", "recovered after", "trained hard before"],
        "places": ["at the stadium", "in the capital", "on the north pitch", "at the indoor arena",
                   "in front of a sold-out crowd", "during the regional cup"],
    },
    "politics": {
        "agents": ["the prime minister", "the opposition leader", "the city council", "a senior senator",
                   "the new mayor", "the finance committee", "several lawmakers", "the governor",
                   "the foreign minister", "the election commission", "local voters", "the parliament"],
        "objects": ["the budget proposal", "a controversial bill", "the housing reform", "new tax rules",
                    "the trade agreement", "the coalition deal", "the election results", "a public inquiry",
                    "the climate policy", "the pension plan", "a referendum", "the healthcare law"],
        "verbs": ["approved", "rejected", "debated", "criticised", "announced", "delayed", "defended",
                  "questioned", "signed", "negotiated", "postponed", "voted against"],
        "places": ["in parliament", "at the town hall", "during a press conference", "in a late-night session",
                   "at the regional assembly", "before the summit"],
    },
    "technology": {
        "agents": ["the startup", "our engineering team", "the chip maker", "a software developer",
                   "the security researcher", "the cloud provider", "the open-source community",
                   "the smartphone company", "a data scientist", "the support team", "the robotics lab",
                   "the network operator"],
        "objects": ["the new laptop", "a faster processor", "the mobile app", "the latest update",
                    "a critical vulnerability", "the search engine", "the machine learning model",
                    "the database migration", "a wireless charger", "the operating system",
                    "the battery life", "the user interface"],
        "verbs": ["released", "tested", "patched", "redesigned", "benchmarked", "launched", "fixed",
                  "open-sourced", "upgraded", "rolled back", "optimised", "deprecated"],
        "places": ["in the data centre", "at the developer conference", "on every device",
                   "in the beta channel", "across three regions", "on the company blog"],
    },
    "science": {
        "agents": ["the researchers", "a team of astronomers", "the biologists", "the physics department",
                   "a graduate student", "the climate scientists", "the chemists", "the survey team",
                   "the geologists", "an international consortium", "the lab technician",
                   "the space agency"],
        "objects": ["a distant galaxy", "the protein structure", "a new species of frog", "the ice cores",
                    "the particle collision", "the ocean temperature", "a rare mineral", "the vaccine trial",
                    "the gene sequence", "the solar wind", "an ancient fossil", "the magnetic field"],
        "verbs": ["discovered", "measured", "observed", "analysed", "published data on", "simulated",
                  "confirmed", "mapped", "sampled", "modelled", "photographed", "replicated"],
        "places": ["in the laboratory", "at the observatory", "in the Arctic", "deep under the sea",
                   "at the field station", "in a peer-reviewed journal"],
    },
    "food": {
        "agents": ["the chef", "my grandmother", "the bakery", "the new restaurant", "the food critic",
                   "a street vendor", "the cooking class", "our neighbours", "the kitchen staff",
                   "the cafe owner", "the wine maker", "a home cook"],
        "objects": ["the tomato soup", "a spicy curry", "the sourdough bread", "the chocolate cake",
                    "fresh pasta", "the seasonal menu", "a bowl of ramen", "the grilled fish",
                    "the vegetable stew", "the lemon tart", "a cup of coffee", "the breakfast buffet"],
        "verbs": ["cooked", "served", "tasted", "baked", "recommended", "burned", "seasoned",
                  "reinvented", "shared", "ordered", "prepared", "photographed"],
        "places": ["in the small kitchen", "at the farmers market", "downtown", "on the terrace",
                   "at the family dinner", "in the old harbour"],
    },
    "travel": {
        "agents": ["the tourists", "our tour guide", "the airline", "the backpackers", "the hotel staff",
                   "my sister", "the train operator", "a group of students", "the cruise ship",
                   "the travel blogger", "the border officers", "the hikers"],
        "objects": ["the morning flight", "a mountain trail", "the old town", "the night train",
                    "a beach resort", "the museum tour", "the boarding passes", "a rental car",
                    "the island ferry", "the city map", "the hostel room", "the scenic route"],
        "verbs": ["booked", "cancelled", "explored", "missed", "visited", "recommended", "delayed",
                  "photographed", "crossed", "reviewed", "planned", "enjoyed"],
        "places": ["in the Alps", "near the coast", "at the airport", "along the river",
                   "in the historic centre", "on the way back home"],
    },
    "business": {
        "agents": ["the company", "the board of directors", "the retail chain", "investors",
                   "the central bank", "the chief executive", "a small supplier", "the insurance firm",
                   "shareholders", "the marketing department", "the factory", "the logistics partner"],
        "objects": ["quarterly earnings", "the merger", "interest rates", "the product line",
                    "the annual report", "a hiring freeze", "the share price", "the supply chain",
                    "the pricing strategy", "a new branch", "the sales forecast", "operating costs"],
        "verbs": ["reported", "cut", "raised", "acquired", "restructured", "expanded", "reviewed",
                  "announced", "missed", "exceeded", "revised", "invested in"],
        "places": ["on the stock exchange", "in the third quarter", "across Europe", "at the annual meeting",
                   "in emerging markets", "after the audit"],
    },
    "health": {
        "agents": ["the doctors", "the nurse", "the hospital", "patients", "the health ministry",
                   "the pharmacist", "a physiotherapist", "the clinic", "the public health team",
                   "the surgeon", "volunteers", "the school nurse"],
        "objects": ["the flu season", "a new treatment", "the waiting list", "the blood tests",
                    "the vaccination campaign", "a healthy diet", "the knee surgery", "sleep habits",
                    "the emergency ward", "the mental health service", "daily exercise", "the allergy"],
        "verbs": ["treated", "recommended", "monitored", "improved", "expanded", "warned about",
                  "studied", "reduced", "prescribed", "reorganised", "funded", "evaluated"],
        "places": ["at the clinic", "in rural areas", "over the winter", "in the children's ward",
                   "at the community centre", "during the night shift"],
    },
}

ADVERBS = ["quickly", "finally", "quietly", "unexpectedly", "carefully", "reluctantly", "proudly",
           "surprisingly", "once again", "almost", "eventually", "openly"]
TIMES = ["yesterday", "last week", "on Monday", "this morning", "in March", "after months of delays",
         "earlier today", "over the weekend", "late last night", "in 2024", "two years ago", "at noon"]
POSITIVE = ["brilliant", "excellent", "wonderful", "impressive", "delightful", "remarkable", "great",
            "fantastic", "reliable", "encouraging"]
NEGATIVE = ["disappointing", "terrible", "awful", "frustrating", "poor", "confusing", "worrying",
            "mediocre", "unreliable", "painful"]
OPINION_OPENERS = ["Honestly,", "In my view,", "To be fair,", "Frankly,", "As expected,",
                   "Believe it or not,", "According to many people,", "Overall,"]
CONNECTORS = ["Meanwhile,", "However,", "As a result,", "In addition,", "At the same time,",
              "Later,", "Even so,", "For that reason,", "Nevertheless,", "In the end,"]
NUMBERS = ["two", "three", "five", "seven", "ten", "twelve", "forty", "a hundred", "several", "many"]
NOUNS_PLURAL = ["people", "experts", "fans", "customers", "residents", "critics", "observers",
                "workers", "readers", "viewers"]
REACTIONS = ["praised", "criticised", "questioned", "welcomed", "ignored", "discussed", "shared",
             "doubted"]
RARE = ["unprecedented", "reconfiguration", "interoperability", "photosynthesis", "bureaucratic",
        "microarchitecture", "counterintuitive", "electroencephalography", "decarbonisation",
        "multidisciplinary", "cryptocurrency", "hyperparameters", "neuroplasticity",
        "Schwarzenegger", "Reykjavik", "Tchaikovsky", "Kilimanjaro", "Wolverhampton"]


STOP = {"the", "a", "an", "how", "and", "that", "of", "at", "in", "on", "was", "so", "did", "to", "for",
        "after", "before", "during", "despite", "said", "felt", "last", "this", "two", "my", "our"}


def cap(s):
    return s[0].upper() + s[1:]


def sentence(rng, topic):
    """One sentence of roughly 6-20 words about `topic`."""
    t = TOPICS[topic]
    a, o, v, p = rng.choice(t["agents"]), rng.choice(t["objects"]), rng.choice(t["verbs"]), rng.choice(t["places"])
    kind = rng.randrange(9)
    if kind == 0:
        s = f"{a} {v} {o} {p}."
    elif kind == 1:
        s = f"{a} {rng.choice(ADVERBS)} {v} {o} {rng.choice(TIMES)}."
    elif kind == 2:
        s = f"{rng.choice(TIMES)}, {a} {v} {o}."
    elif kind == 3:
        adj = rng.choice(POSITIVE + NEGATIVE)
        s = f"{rng.choice(OPINION_OPENERS)} {o} was {adj}."
    elif kind == 4:
        s = f"{rng.choice(NUMBERS)} {rng.choice(NOUNS_PLURAL)} {rng.choice(REACTIONS)} how {a} {v} {o}."
    elif kind == 5:
        s = f"Why did {a} say that {o} was so {rng.choice(POSITIVE + NEGATIVE)}?"
    elif kind == 6:
        s = f"{a} {v} {o} {p}, and {rng.choice(t['agents'])} {rng.choice(t['verbs'])} {rng.choice(t['objects'])}."
    elif kind == 7:
        s = f"{o} {p} felt {rng.choice(POSITIVE + NEGATIVE)}, said {a}."
    else:
        s = f"{a} {v} {o} {rng.choice(TIMES)} despite the {rng.choice(RARE)} {rng.choice(['concerns', 'conditions', 'debate', 'costs'])}."
    return cap(s)


def paragraph(rng, topic, n_sentences):
    parts = [sentence(rng, topic)]
    for _ in range(n_sentences - 1):
        s = sentence(rng, topic if rng.random() < 0.8 else rng.choice(list(TOPICS)))
        if rng.random() < 0.35:
            s = f"{rng.choice(CONNECTORS)} {s[0].lower()}{s[1:]}"
        parts.append(s)
    return " ".join(parts)


def make_lines():
    rng = random.Random(SEED)
    topics = list(TOPICS)
    lines = []
    for _ in range(LINES):
        topic = rng.choice(topics)
        r = rng.random()
        if r < 0.68:            # one short sentence, 5-20 words
            text = sentence(rng, topic)
            if rng.random() < 0.15:   # a few very short, headline-like texts
                words = text.rstrip(".?").split()[: rng.randint(4, 7)]
                while words[-1].lower().strip(",") in STOP:
                    words.pop()
                text = " ".join(words)
        elif r < 0.90:          # two or three sentences, ~20-50 words
            text = paragraph(rng, topic, rng.randint(2, 3))
        elif r < 0.993:         # a paragraph, ~50-150 words
            text = paragraph(rng, topic, rng.randint(4, 10))
        else:                   # a long document, beyond 256 word pieces
            text = paragraph(rng, topic, rng.randint(18, 30))
        lines.append(text)
    return lines


def stats(path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(HERE, "..", "..", "weights", "all-MiniLM-L6-v2", "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    texts = [json.loads(l)["text"] for l in open(path, encoding="utf-8")]
    lens = sorted(len(e.ids) for e in tok.encode_batch(texts))
    tok.no_truncation()
    full = [len(e.ids) for e in tok.encode_batch(texts)]
    words = [len(t.split()) for t in texts]
    n = len(lens)

    def pct(p):
        return lens[min(n - 1, int(p / 100 * n))]

    print(f"lines: {n}")
    print(f"words: total {sum(words)}, mean {sum(words) / n:.1f}, min {min(words)}, max {max(words)}")
    print(f"word pieces (incl. [CLS]/[SEP], truncated at 256): total {sum(lens)}, mean {sum(lens) / n:.2f}")
    print(f"  min {lens[0]}, p50 {pct(50)}, p90 {pct(90)}, p99 {pct(99)}, max {lens[-1]}")
    print(f"  lines <= 24 pieces: {sum(l <= 24 for l in lens)}, 25-64: {sum(25 <= l <= 64 for l in lens)}, "
          f"65-256: {sum(65 <= l for l in lens)}, truncated (> 256 before truncation): {sum(f > 256 for f in full)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "corpus.jsonl"))
    ap.add_argument("--stats", action="store_true", help="also print word-piece statistics (needs `tokenizers`)")
    args = ap.parse_args()
    lines = make_lines()
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for text in lines:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} lines to {args.out}")
    if args.stats:
        stats(args.out)


if __name__ == "__main__":
    main()
