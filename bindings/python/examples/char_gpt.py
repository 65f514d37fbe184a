"""A character-level GPT on the King James Bible, the Python twin of
examples/char_gpt.c: token + position embedding, pre-LN Transformer blocks
(LayerNorm -> causal MultiHeadAttention -> Add, LayerNorm -> Dense 4d GELU ->
Dense d -> Add), final LayerNorm, Dense logits. Romans to Revelation is held
out; each epoch trains on random windows and reports validation perplexity;
the end samples text with the key/value cache.

    python3 bindings/python/examples/char_gpt.py [EPOCHS] [STEPS_PER_EPOCH]
"""
import math
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bigmodel as bm  # noqa: E402
from bigmodel import layers  # noqa: E402


def gpt(vocab, context=128, dim=128, heads=4, blocks=4, seed=42):
    tokens = bm.Input(shape=(context,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab, dim)(tokens)
    x = layers.Add()([x, layers.PositionEmbedding(context)(x)])
    for _ in range(blocks):
        h = layers.LayerNormalization()(x)
        x = layers.Add()([x, layers.MultiHeadAttention(heads, dim // heads)(
            h, h, use_causal_mask=True)])
        h = layers.Dense(4 * dim, activation="gelu")(layers.LayerNormalization()(x))
        x = layers.Add()([x, layers.Dense(dim)(h)])
    logits = layers.Dense(vocab)(layers.LayerNormalization()(x))
    return bm.Model(tokens, logits, name="char_gpt", seed=seed)


def bible():
    """The text without verse labels, and where Romans begins."""
    lines = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    split = next(i for i, line in enumerate(lines) if line.startswith("Rom1:1 "))
    strip = [line.split(" ", 1)[1] + "\n" for line in lines]
    return "".join(strip), len("".join(strip[:split]))


def windows(ids, n, context, rng=None, start=0, stop=None):
    """x, y (n, context): windows at random offsets (rng) or spread evenly."""
    stop = len(ids) if stop is None else stop
    if rng is None:
        at = np.linspace(start, stop - context - 1, n).astype(np.int64)
    else:
        at = rng.integers(start, stop - context - 1, n)
    x = np.stack([ids[a:a + context] for a in at]).astype(np.int32)
    return x, np.stack([ids[a + 1:a + context + 1] for a in at]).astype(np.int32)


def main(epochs=10, steps=200, context=128, batch=16, text=None, prompt="And God said",
         verbose=1):
    text, split = bible() if text is None else text
    chars = sorted(set(text))
    ids = np.frombuffer(text.encode("latin-1"), np.uint8)
    ids = np.searchsorted(np.frombuffer("".join(chars).encode("latin-1"), np.uint8), ids)
    model = gpt(len(chars), context)
    warmup = min(200, epochs * steps // 2)
    schedule = bm.optimizers.schedules.CosineDecay(2e-5, epochs * steps - warmup, alpha=0.1,
                                                   warmup_target=2e-3, warmup_steps=warmup)
    model.compile(optimizer=bm.optimizers.AdamW(schedule, weight_decay=0.01, beta_2=0.99,
                                                global_clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", from_logits=True)
    rng = np.random.default_rng(1)
    val = windows(ids, 512, context, start=split)
    for epoch in range(epochs):
        x, y = windows(ids, steps * batch, context, rng, stop=split)
        history = model.fit(x, y, batch_size=batch, initial_epoch=epoch, epochs=epoch + 1,
                            validation_data=val, verbose=verbose)
        print("epoch %d: validation perplexity %.3f"
              % (epoch + 1, math.exp(history.history["val_loss"][-1])))
    out = model.generate([chars.index(c) for c in prompt], max_new_tokens=300,
                         temperature=0.8, top_k=20, seed=7)
    print("--- sample ---\n" + prompt + "".join(chars[i] for i in out))
    return model, history.history["val_loss"][-1]


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:3]])
