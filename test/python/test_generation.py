"""Text generation through the Python bindings: model.generate against the
step-by-step Decoder (greedy follows the argmax), seeds, stop tokens,
streaming callbacks (cancel, exceptions), the cache against re-running the
window, closing order, and errors."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm

VOCAB, CONTEXT = 7, 10


@pytest.fixture
def lm():
    m = bm.Sequential([bm.layers.Embedding(VOCAB, 6), bm.layers.Dense(16, activation="tanh"),
                       bm.layers.Dense(VOCAB)], input_shape=(CONTEXT,), seed=5)
    m.build()
    w = [v.numpy() * 4 for v in m.weights]  # logits far enough apart to matter
    m.set_weights(w)
    yield m
    m.close()


def test_greedy_generation_follows_the_decoders_argmax(lm):
    out = lm.generate([1, 2, 3], max_new_tokens=25, temperature=0)
    assert out.dtype == np.int32 and out.shape == (25,)
    with bm.Decoder(lm) as d:
        assert d.uses_cache
        logits = d.append([1, 2, 3])
        assert logits.shape == (3, VOCAB)
        for i, tok in enumerate(out):
            assert tok == int(np.argmax(logits[-1]))
            logits = d.append([tok])
        assert len(d) == 3 + 25


def test_decoder_logits_match_predict_and_the_uncached_path(lm):
    ids = np.array([[3, 1, 4, 1, 5, 2, 6, 0, 2, 3]], np.int32)
    ref = lm.predict(ids)[0]
    with bm.Decoder(lm) as cached, bm.Decoder(lm, use_cache=False) as plain:
        assert not plain.uses_cache
        got = np.concatenate([cached.append(ids[0, :4])] +
                             [cached.append([t]) for t in ids[0, 4:]])
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(plain.append(ids[0]), ref, rtol=1e-5, atol=1e-6)
        cached.reset()
        assert len(cached) == 0


def test_seeds_stop_tokens_and_streaming(lm):
    a = lm.generate([2], max_new_tokens=30, seed=11, top_k=4, top_p=0.9)
    b = lm.generate([2], max_new_tokens=30, seed=11, top_k=4, top_p=0.9)
    np.testing.assert_array_equal(a, b)
    c = lm.generate([2], max_new_tokens=30, seed=11, top_k=4, top_p=0.9, use_cache=False)
    np.testing.assert_array_equal(a, c)
    stop = int(a[5])
    first = int(np.argmax(a == stop))
    s = lm.generate([2], max_new_tokens=30, seed=11, top_k=4, top_p=0.9, stop_tokens=[stop])
    np.testing.assert_array_equal(s, a[:first + 1])
    seen = []
    out = lm.generate([2], max_new_tokens=30, seed=11, top_k=4, top_p=0.9,
                      callback=lambda tok, i: seen.append((i, tok)) or i == 3)
    np.testing.assert_array_equal(out, a[:4])
    assert seen == [(i, int(t)) for i, t in enumerate(a[:4])]


def test_an_exception_in_the_callback_stops_and_is_raised(lm):
    def boom(tok, i):
        if i == 2:
            raise KeyError("stop here")
    with pytest.raises(KeyError, match="stop here"):
        lm.generate([1], max_new_tokens=10, callback=boom)


def test_closing_the_model_closes_its_decoders(lm):
    d = bm.Decoder(lm)
    d.append([1])
    lm.close()
    with pytest.raises(bm.StateError, match="decoder was closed"):
        d.append([2])


def test_bad_arguments_raise_with_the_librarys_message(lm):
    with pytest.raises(bm.InvalidArgumentError, match="prompt is empty"):
        lm.generate([])
    with pytest.raises(bm.RangeError, match=r"prompt\[1\] = 7 is outside the vocabulary"):
        lm.generate([1, 7])
    with pytest.raises(bm.ShapeError, match="more than the model's context of 10"):
        lm.generate([1] * 11)
    with pytest.raises(bm.InvalidArgumentError, match=r"top_p = 0, expected a value in"):
        lm.generate([1], top_p=0)
    with pytest.raises(bm.InvalidArgumentError, match="temperature = -1"):
        lm.generate([1], temperature=-1)
    with pytest.raises(bm.InvalidArgumentError, match="token ids"):
        lm.generate(None)
    image = bm.Sequential([bm.layers.Flatten(), bm.layers.Dense(3)], input_shape=(2, 2))
    image.build()
    with pytest.raises(bm.StateError, match="expected a language model"):
        image.generate([1])
    image.close()
