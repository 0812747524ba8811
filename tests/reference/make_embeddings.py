#!/usr/bin/env python3
"""Reference sentence embeddings for all-MiniLM-L6-v2.

Writes
  tests/fixtures/embeddings/texts.json          [{"name": slug, "text": str}, ...]
  tests/fixtures/embeddings/reference.safetensors
      ids/NNN            I64 [L]        input_ids sentence-transformers feeds the model
                                        (with [CLS]/[SEP], truncated to 256 tokens)
      embedding/NNN      F32 [384]      model.encode(text, normalize_embeddings=True),
                                        text encoded ALONE (batch of 1, no padding)
      embedding_raw/NNN  F32 [384]      mean-pooled last hidden state, NOT normalised
      hidden/NNN/K       F32 [L, 384]   for a few texts only (HIDDEN_NAMES): HF BertModel
                                        hidden_states[K], K = 0..6; 0 = embedding output
                                        after LayerNorm, K = output of encoder layer K-1
  NNN is the zero-padded index of the text in texts.json.

Deterministic: texts are hard-coded or built with a fixed-seed SplitMix64 PRNG
(implemented here, so the stream does not depend on Python/numpy versions).
Run through ./regenerate.sh (HF_HUB_OFFLINE=1, venv from ./setup.sh).
"""
import json
import os
import sys
import unicodedata

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
from st_write import save_file_sorted as save_file
from sentence_transformers import SentenceTransformer
from transformers import AutoModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "weights", "all-MiniLM-L6-v2")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "embeddings")
MAX_SEQ = 256
SEED = 20261129

# Texts whose per-layer hidden states are stored (must exist in the list).
HIDDEN_NAMES = [
    "sts_food",            # short
    "medium_news",         # medium
    "long_300_words",      # truncated at 256 tokens
    "cjk_emoji_mix",       # CJK + emoji
    "empty",               # empty string -> [CLS] [SEP]
]


# --------------------------------------------------------------------------
# Deterministic PRNG (SplitMix64), independent of library versions.
# --------------------------------------------------------------------------
class SplitMix64:
    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def choice(self, xs):
        return xs[self.below(len(xs))]


WORDS = """
the of and to in a is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their has
would when if so no will more can said who about up out them into what some time
market company shares profit quarter revenue bank rates inflation oil prices trade
government minister report analysts growth tonnes wheat shipping port exports
imports dollar yen currency interest bonds investors earnings dividend merger
acquisition agreement billion million percent year week today yesterday city river
mountain forest ocean weather morning evening children teacher school library book
music film garden kitchen bread coffee tea dinner friend family village station
train bicycle computer software network database algorithm language translation
sentence embedding vector model training gradient layer attention token encoder
beautiful quickly slowly carefully unexpected remarkable difficult important
extraordinary international responsibility characteristics misunderstanding
electroencephalography antidisestablishmentarianism photosynthesis
""".split()

UNICODE_POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "éèêëàâäôöûüçñßøåæœÉÀÖÜÑ",
    "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΣΩ",
    "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЖЯ",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "あいうえおかきくけこがぎぐげごアイウエオカキクケコ",
    "가나다라마바사아자차카타파하한국어",
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "!?.,;:'\"()[]{}<>-_=+*/\\|@#$%^&~`",
    "😀😂🥲👍🏽❤️🚀🍕🎉✨🔥",
    " \t\n",
]


def random_sentence(rng, n_min=6, n_max=18):
    n = n_min + rng.below(n_max - n_min + 1)
    ws = [rng.choice(WORDS) for _ in range(n)]
    s = " ".join(ws)
    return s[0].upper() + s[1:] + rng.choice([".", ".", ".", "!", "?", ";"])


def random_prose(rng, n_words):
    out, count = [], 0
    while count < n_words:
        s = random_sentence(rng)
        out.append(s)
        count += len(s.split())
    words = " ".join(out).split()[:n_words]
    return " ".join(words)


def random_unicode(rng, n_chars):
    chars = []
    for _ in range(n_chars):
        pool = UNICODE_POOLS[rng.below(len(UNICODE_POOLS))]
        chars.append(pool[rng.below(len(pool))])
    return "".join(chars)


# --------------------------------------------------------------------------
# Hard-coded texts
# --------------------------------------------------------------------------
CODE_RUST = '''fn main() {
    let v: Vec<u32> = (0..10).map(|x| x * x).collect();
    println!("{:?}", v); // squares
}'''

CODE_PY = '''def mean_pool(h, mask):
    m = mask.unsqueeze(-1).float()
    return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)'''

CODE_JSON = '{"name": "minilm", "dims": 384, "layers": [1, 2, 3], "ok": true, "x": null}'

CODE_SQL = "SELECT id, COUNT(*) AS n FROM docs WHERE lang = 'en' GROUP BY id HAVING n > 2 ORDER BY n DESC;"

CODE_HTML = '<div class="card"><a href="https://example.com/?q=1&amp;r=2">Link</a><br/></div>'

CODE_SHELL = "for f in *.txt; do wc -l \"$f\" | awk '{print $1}' >> counts.log 2>&1; done"

LONG_PARAGRAPH = (
    "The history of natural language processing generally started in the 1950s, although work can be "
    "found from earlier periods. In 1950, Alan Turing published an article titled \"Computing Machinery "
    "and Intelligence\" which proposed what is now called the Turing test as a criterion of intelligence. "
    "The Georgetown experiment in 1954 involved fully automatic translation of more than sixty Russian "
    "sentences into English. The authors claimed that within three or five years, machine translation "
    "would be a solved problem. However, real progress was much slower, and after the ALPAC report in "
    "1966, which found that ten-year-long research had failed to fulfill the expectations, funding for "
    "machine translation was dramatically reduced. Little further research in machine translation was "
    "conducted until the late 1980s when the first statistical machine translation systems were developed."
)

HARDCODED = [
    # --- the classic STS pair and short sentences
    ("sts_food", "A man is eating food."),
    ("sts_bread", "A man is eating a piece of bread."),
    ("sts_guitar", "A man is playing a guitar."),
    ("sts_pasta", "A woman is slicing an onion."),
    ("short_hello", "Hello world"),
    ("short_question", "How old are you?"),
    ("medium_news",
     "Shares of the company rose 4.5 percent on Tuesday after it reported better-than-expected "
     "quarterly earnings and raised its full-year revenue forecast, analysts said."),
    ("long_paragraph", LONG_PARAGRAPH),
    # --- empty / tiny
    ("empty", ""),
    ("single_space", " "),
    ("single_char_a", "a"),
    ("single_char_upper", "Z"),
    ("single_char_accent", "é"),
    ("single_char_cjk", "猫"),
    ("single_char_emoji", "🙂"),
    ("single_punct", "!"),
    ("single_digit", "7"),
    # --- whitespace
    ("ws_runs", "hello      world     again"),
    ("ws_tabs", "col1\tcol2\t\tcol3\t"),
    ("ws_newlines", "line one\nline two\r\nline three\n\n\nline four"),
    ("ws_leading_trailing", "   padded on both sides   "),
    ("ws_only", " \t\n \r\n\t  "),
    ("ws_unicode_spaces", "no\u00a0break thin\u2009space ideo\u3000graphic em\u2003space"),
    ("ws_zero_width", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom"),
    # --- punctuation
    ("punct_runs", "What?!?! No way... really!!! (yes) [no] {maybe} <ok>"),
    ("punct_quotes", "\u201cSmart quotes\u201d and \u2018single\u2019 \u00abguillemets\u00bb \u201elow\u201c"),
    ("punct_dashes", "em\u2014dash, en\u2013dash, hyphen-minus, minus\u2212sign, ellipsis\u2026"),
    ("punct_spanish", "\u00bfD\u00f3nde est\u00e1 la biblioteca? \u00a1Hola, se\u00f1or!"),
    ("punct_symbols", "a@b #tag $5 %d ^x &y *z ~w `q` |p| \\back/ _under_ +plus= ;semi: 'apos'"),
    ("punct_only", "!@#$%^&*()_+-=[]{}|;':\",./<>?`~"),
    # --- numbers
    ("num_decimal", "Pi is approximately 3.14159265358979 and e is 2.71828."),
    ("num_thousands", "The population grew from 1,234,567 to 12,345,678 (an increase of 900%)."),
    ("num_dates", "Meeting on 2026-11-29 at 18:45 UTC, or 29/11/2026, or Nov. 29th, 2026."),
    ("num_money", "Revenue was $1.5bn (\u20ac1.38bn, \u00a31.2bn, \u00a5220bn) versus 0.75 last year."),
    ("num_scientific", "Use lr = 1e-5, eps = 1e-12, and 6.022e23 molecules; x\u00b2 + y\u00b3 = \u00bd."),
    ("num_phone", "Call +1 (555) 010-9999 ext. 42 or 0800 123 456."),
    ("num_long_digits", "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679"),
    # --- URLs / e-mail / handles
    ("url_https", "See https://www.example.com/path/to/page?query=1&lang=en#section-2 for details."),
    ("url_bare", "Visit example.org or ftp://files.example.net/pub/readme.txt today"),
    ("email", "Contact jane.doe+news@mail.example.co.uk or admin@localhost."),
    ("social", "@user42 loved it! #MachineLearning #NLP2026 RT @other_user"),
    # --- accented Latin, precomposed vs combining (NFC vs NFD)
    ("accent_nfc", unicodedata.normalize("NFC", "Caf\u00e9 na\u00efve r\u00e9sum\u00e9, jalape\u00f1o, M\u00fcller, Stra\u00dfe, \u00c5ngstr\u00f6m")),
    ("accent_nfd", unicodedata.normalize("NFD", "Caf\u00e9 na\u00efve r\u00e9sum\u00e9, jalape\u00f1o, M\u00fcller, Stra\u00dfe, \u00c5ngstr\u00f6m")),
    ("accent_french", "L'\u00e9l\u00e8ve a r\u00e9ussi l'examen; o\u00f9 est le ch\u00e2teau? \u00c7a va tr\u00e8s bien."),
    ("accent_german", "\u00dcber den Gr\u00fcnen Stra\u00dfen l\u00e4uft ein gro\u00dfer B\u00e4r. GROSSE STRASSE \u1e9e"),
    ("accent_spanish", "El ni\u00f1o comi\u00f3 pi\u00f1a en la ma\u00f1ana; A\u00d1O NUEVO."),
    ("accent_vietnamese", "Ti\u1ebfng Vi\u1ec7t c\u00f3 nhi\u1ec1u d\u1ea5u thanh: \u1edf, \u1ee3, \u1eef."),
    ("accent_polish_czech", "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144; P\u0159\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148."),
    ("turkish_dotted_i", "\u0130stanbul ve Diyarbak\u0131r, I\u011fd\u0131r; \u0131\u015f\u0131k ISIK"),
    ("combining_stack", "Z\u0335\u0321\u0358a\u0337\u031bl\u0334\u0327g\u0336o\u0338 text"),
    ("ligatures_fullwidth", "\ufb01nance \ufb02ow \uff21\uff22\uff23\uff11\uff12\uff13 \u2460\u2461 \u2122 \u00a9 \u212b"),
    # --- other scripts
    ("greek", "\u0397 \u03b3\u03c1\u03ae\u03b3\u03bf\u03c1\u03b7 \u03ba\u03b1\u03c6\u03ad \u03b1\u03bb\u03b5\u03c0\u03bf\u03cd. \u039f\u0394\u039f\u03a3 \u0391\u0398\u0397\u039d\u0391\u03a3"),
    ("cyrillic", "\u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445 \u043c\u044f\u0433\u043a\u0438\u0445 \u0444\u0440\u0430\u043d\u0446\u0443\u0437\u0441\u043a\u0438\u0445 \u0431\u0443\u043b\u043e\u043a, \u0434\u0430 \u0432\u044b\u043f\u0435\u0439 \u0447\u0430\u044e."),
    ("cjk_chinese", "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u6563\u6b65\u5427\u3002"),
    ("cjk_japanese", "\u6771\u4eac\u3067\u30e9\u30fc\u30e1\u30f3\u3092\u98df\u3079\u307e\u3057\u305f\u3002\u304c\u304e\u3050\u3052\u3054 \u30d1\u30d4\u30d7"),
    ("korean_hangul", "\uc548\ub155\ud558\uc138\uc694, \ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc744 \uc2dc\ud5d8\ud569\ub2c8\ub2e4."),
    ("arabic", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0647\u0630\u0647 \u062c\u0645\u0644\u0629 \u0639\u0631\u0628\u064a\u0629 \u0644\u0644\u0627\u062e\u062a\u0628\u0627\u0631."),
    ("arabic_harakat", "\u0627\u0644\u0652\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u0651\u064e\u0629\u064f \u0644\u064f\u063a\u064e\u0629\u064c \u062c\u064e\u0645\u0650\u064a\u0644\u064e\u0629\u064c"),
    ("hebrew", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd, \u05d6\u05d4\u05d5 \u05de\u05e9\u05e4\u05d8 \u05d1\u05e2\u05d1\u05e8\u05d9\u05ea."),
    ("hindi", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e, \u092f\u0939 \u090f\u0915 \u0939\u093f\u0902\u0926\u0940 \u0935\u093e\u0915\u094d\u092f \u0939\u0948\u0964"),
    ("thai", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e44\u0e21\u0e48\u0e21\u0e35\u0e0a\u0e48\u0e2d\u0e07\u0e27\u0e48\u0e32\u0e07"),
    # --- emoji
    ("emoji_simple", "I love pizza \U0001f355\U0001f355 and coffee \u2615!"),
    ("emoji_zwj_family", "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 and \U0001f469\u200d\U0001f4bb at work"),
    ("emoji_skin_flags", "\U0001f44d\U0001f3fd \U0001f44b\U0001f3ff \U0001f1eb\U0001f1f7 \U0001f1ef\U0001f1f5 \U0001f3f3\ufe0f\u200d\U0001f308 1\ufe0f\u20e3"),
    ("emoji_only", "\U0001f600\U0001f602\U0001f972\U0001f680\u2728\U0001f525\u2764\ufe0f"),
    ("cjk_emoji_mix", "\u6211\u7231\u5317\u4eac \U0001f1e8\U0001f1f3\uff01\u5bff\u53f8\U0001f363\u304c\u597d\u304d\u3067\u3059 \U0001f60b and ramen \U0001f35c too."),
    # --- special-token strings inside text
    ("special_cls", "[CLS] this text starts with a literal CLS marker"),
    ("special_sep", "first part [SEP] second part"),
    ("special_pad", "[PAD] [PAD] [PAD] padded words [PAD]"),
    ("special_mask", "The capital of France is [MASK]."),
    ("special_unk", "An [UNK] token and [unk] lowercase and [ UNK ] spaced"),
    ("special_all", "[CLS][SEP][PAD][MASK][UNK]"),
    ("special_lower", "[cls] [sep] [pad] [mask] lowercase variants"),
    ("special_mask_alone", "[MASK]"),
    # --- control characters
    ("control_nul_bell", "nul\u0000byte and bell\u0007 and backspace\u0008 here"),
    ("control_ansi", "\u001b[31mred text\u001b[0m normal \u001b[1mbold\u001b[0m"),
    ("control_misc", "del\u007f nel\u0085 rs\u001e us\u001f ff\u000c vt\u000b end"),
    ("control_replacement", "bad bytes \ufffd\ufffd decoded, private \ue000 use"),
    ("control_only", "\u0000\u0001\u0002\u0003"),
    # --- repetition / case / long words
    ("repeat_the", "the " * 300),
    ("repeat_ha", "ha" * 60),
    ("repeat_word_dash", "-".join(["very"] * 80)),
    ("longword_100", "x" * 100),
    ("longword_101", "x" * 101),
    ("longword_mixed", "pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious"),
    ("all_caps", "THIS SENTENCE IS WRITTEN ENTIRELY IN CAPITAL LETTERS FOR TESTING PURPOSES!"),
    ("mixed_case", "ThIs SeNtEnCe HaS mIxEd CaSe, iPhone, McDonald's, eBay, NASA."),
    # --- code
    ("code_rust", CODE_RUST),
    ("code_python", CODE_PY),
    ("code_json", CODE_JSON),
    ("code_sql", CODE_SQL),
    ("code_html", CODE_HTML),
    ("code_shell", CODE_SHELL),
    # --- mixed language
    ("mixed_en_fr_de", "I said bonjour to mon ami and then Guten Tag to the Nachbarn."),
    ("mixed_en_zh", "We met at the \u5496\u5561\u5e97 (coffee shop) near \u5317\u4eac\u5927\u5b66 yesterday."),
    ("mixed_en_ru_ar", "Hello \u043f\u0440\u0438\u0432\u0435\u0442 \u0645\u0631\u062d\u0628\u0627 shalom \u05e9\u05dc\u05d5\u05dd \u3053\u3093\u306b\u3061\u306f"),
    ("mixed_scripts_no_space", "abc\u0430\u0431\u0432\u03b1\u03b2\u03b3\u4e2d\u6587\u0627\u0644\u0639\u0631\u0628\u064a\u0629123"),
    # --- assorted semantic sentences (realistic inputs)
    ("sem_cat", "The cat sat on the mat and looked out of the window."),
    ("sem_dog", "A dog is running through the park chasing a ball."),
    ("sem_stocks", "Stock markets fell sharply amid fears of rising interest rates."),
    ("sem_oil", "Crude oil prices climbed after OPEC announced production cuts."),
    ("sem_wheat", "The ministry reported that wheat exports reached 2.3 million tonnes."),
    ("sem_ship", "The tanker was delayed at the port because of a strike by dock workers."),
    ("sem_review_pos", "This movie was absolutely wonderful, I would watch it again!"),
    ("sem_review_neg", "Terrible service, cold food, and we waited an hour. Never again."),
    ("sem_question", "What is the best way to learn a new programming language quickly?"),
    ("sem_negation", "It is not true that the meeting was cancelled."),
]


def build_texts(tok):
    """Return list of (name, text). tok is the ST/HF tokenizer (for measuring)."""
    rng = SplitMix64(SEED)
    texts = list(HARDCODED)

    def n_pieces(t):
        return len(tok(t, add_special_tokens=False, truncation=False)["input_ids"])

    # Long random prose: ~300 and ~1000 words, and a few others beyond 256 pieces.
    texts.append(("long_300_words", random_prose(rng, 300)))
    texts.append(("long_1000_words", random_prose(rng, 1000)))
    texts.append(("long_600_words", random_prose(rng, 600)))
    texts.append(("long_paragraph_x3", " ".join([LONG_PARAGRAPH] * 3)))
    texts.append(("long_cjk_400", "".join(rng.choice(UNICODE_POOLS[4]) for _ in range(400))))

    # Exact word-piece counts around the 256-token boundary. Name suffix = number of
    # CONTENT word pieces (without [CLS]/[SEP]); total with specials = content + 2.
    # Content 252..257 -> totals 254..259, so both readings of "254/255/256/257
    # word pieces" are covered. Truncation keeps 254 content pieces.
    def exact(n, sub_seed):
        r = SplitMix64(SEED + sub_seed)
        words = []
        while True:
            w = r.choice(WORDS)
            if n_pieces(" ".join(words + [w])) > n:
                break
            words.append(w)
        while n_pieces(" ".join(words)) < n:
            words.append("the")
        t = " ".join(words)
        assert n_pieces(t) == n, (n, n_pieces(t))
        return t

    for n in range(252, 258):
        texts.append((f"boundary_content_wp{n}", exact(n, n)))

    # Truncation falling inside a multi-piece word: 253 single-piece words then a
    # long word -> the 254th kept piece is the word's first piece only.
    filler = " ".join(["the"] * 253)
    mid = filler + " electroencephalography continues afterwards"
    assert n_pieces(filler) == 253 and n_pieces(mid) > 257
    texts.append(("boundary_trunc_mid_word", mid))
    # Truncation falling on a [MASK] literal / punctuation.
    texts.append(("boundary_special_at_edge", filler + " [MASK] [SEP] tail words"))

    # Random sentences / random unicode soup with fixed seed.
    for i in range(12):
        texts.append((f"rand_sentence_{i:02d}", random_sentence(rng, 4, 30)))
    for i in range(10):
        texts.append((f"rand_unicode_{i:02d}", random_unicode(rng, 8 + rng.below(60))))
    # Random case mangling of a fixed sentence.
    base = "The quick brown fox jumps over the lazy dog near the riverbank"
    for i in range(3):
        texts.append((f"rand_case_{i}",
                      "".join(c.upper() if rng.below(2) else c.lower() for c in base)))
    return texts


def main():
    torch.manual_seed(0)
    torch.set_grad_enabled(False)
    st = SentenceTransformer(MODEL_DIR, device="cpu")
    st.eval()
    tok = st.tokenizer
    print(f"ST max_seq_length = {st.max_seq_length}; tokenizer.model_max_length = {tok.model_max_length}")
    assert st.max_seq_length == MAX_SEQ, st.max_seq_length

    texts = build_texts(tok)
    names = [n for n, _ in texts]
    assert len(set(names)) == len(names), "duplicate names"
    assert len(texts) >= 120, len(texts)
    for h in HIDDEN_NAMES:
        assert h in names, h

    tensors = {}
    ids_list, singles, raws = [], [], []
    n_over = 0
    for i, (name, text) in enumerate(texts):
        feats = st.preprocess([text])
        ids = feats["input_ids"][0]
        assert feats["attention_mask"][0].all(), name  # batch of 1: no padding
        assert int(feats["token_type_ids"][0].abs().sum()) == 0
        # Cross-check with a plain HF tokenizer call at truncation 256.
        hf_ids = tok(text, truncation=True, max_length=MAX_SEQ)["input_ids"]
        assert hf_ids == ids.tolist(), name
        full = tok(text, truncation=False)["input_ids"]
        if len(full) > MAX_SEQ:
            n_over += 1
            assert len(ids) == MAX_SEQ and ids[-1].item() == tok.sep_token_id, name
            assert ids.tolist()[:-1] == full[: MAX_SEQ - 1], name
        else:
            assert ids.tolist() == full, name
        assert ids[0].item() == tok.cls_token_id and ids[-1].item() == tok.sep_token_id

        emb = st.encode(text, normalize_embeddings=True, batch_size=1, convert_to_numpy=True)
        out = st[1](st[0](dict(feats)))
        raw = out["sentence_embedding"][0].numpy()
        # raw normalised == the ST embedding
        d = np.abs(raw / np.linalg.norm(raw) - emb).max()
        assert d < 1e-6, (name, d)

        key = f"{i:03d}"
        tensors[f"ids/{key}"] = ids.numpy().astype(np.int64)
        tensors[f"embedding/{key}"] = emb.astype(np.float32)
        tensors[f"embedding_raw/{key}"] = raw.astype(np.float32)
        ids_list.append(ids)
        singles.append(emb)
        raws.append(raw)

    singles = np.stack(singles)
    # Batched encoding exactly as ST does by default (batch_size=32 -> padding).
    batched = st.encode([t for _, t in texts], batch_size=32, normalize_embeddings=True,
                        convert_to_numpy=True)
    batch_diff = float(np.abs(batched - singles).max())
    worst = int(np.abs(batched - singles).max(axis=1).argmax())
    print(f"batched (bs=32) vs single: max |diff| = {batch_diff:.3e} (worst text {worst}: {names[worst]})")
    assert batch_diff < 1e-5, batch_diff

    # Per-layer hidden states from the plain HF BertModel (eager attention, fp32).
    hf = AutoModel.from_pretrained(MODEL_DIR, attn_implementation="eager", dtype=torch.float32)
    hf.eval()
    hidden_idx = []
    for h in HIDDEN_NAMES:
        i = names.index(h)
        hidden_idx.append(i)
        ids = ids_list[i].unsqueeze(0)
        o = hf(input_ids=ids, attention_mask=torch.ones_like(ids),
               token_type_ids=torch.zeros_like(ids), output_hidden_states=True)
        hs = o.hidden_states
        assert len(hs) == 7
        for k, t in enumerate(hs):
            tensors[f"hidden/{i:03d}/{k}"] = t[0].numpy().astype(np.float32)
        # The last hidden state mean-pooled must equal the ST raw embedding.
        d = float(np.abs(hs[6][0].mean(0).numpy() - raws[i]).max())
        print(f"hidden: text {i:03d} {h!r}: {ids.shape[1]} tokens, |mean(h6)-raw| = {d:.2e}")
        assert d < 1e-5, d

    # STS sanity.
    a, b = names.index("sts_food"), names.index("sts_bread")
    cos = float(singles[a] @ singles[b])
    print(f"cos('A man is eating food.', 'A man is eating a piece of bread.') = {cos:.6f}")

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "texts.json"), "w", encoding="utf-8") as f:
        json.dump([{"name": n, "text": t} for n, t in texts], f, ensure_ascii=False, indent=1)
        f.write("\n")
    meta = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": str(MAX_SEQ),
        "n_texts": str(len(texts)),
        "hidden_texts": ",".join(f"{i:03d}" for i in hidden_idx),
        "batched_vs_single_max_abs_diff": f"{batch_diff:.3e}",
        "generator": "tests/reference/make_embeddings.py",
    }
    path = os.path.join(OUT_DIR, "reference.safetensors")
    save_file(tensors, path, metadata=meta)

    lens = [len(x) for x in ids_list]
    print(f"texts: {len(texts)}; token lengths min {min(lens)} max {max(lens)}; "
          f"{n_over} texts exceed {MAX_SEQ} tokens before truncation "
          f"({sum(l == MAX_SEQ for l in lens)} have exactly {MAX_SEQ} after)")
    for n, _ in texts:
        if n.startswith("boundary_"):
            i = names.index(n)
            full = len(tok(texts[i][1], truncation=False)["input_ids"])
            print(f"  {i:03d} {n}: {full} tokens untruncated -> {lens[i]} kept")
    print(f"tensors: {len(tensors)}; wrote {path} ({os.path.getsize(path)/1e6:.2f} MB) and texts.json "
          f"({os.path.getsize(os.path.join(OUT_DIR, 'texts.json'))/1e3:.1f} kB)")
    assert os.path.getsize(path) < 5e6


if __name__ == "__main__":
    sys.exit(main())
