"""bigmodel.layers.MultiHeadAttention through the Python bindings: Keras'
constructor and call arguments on KerasTensors, the config, weights in
Keras' layout, masks and errors."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm


@pytest.fixture(autouse=True)
def fresh_session():
    bm.backend.clear_session()
    yield
    bm.backend.clear_session()


def randn(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def reference(q, v, k, w, mask, key_dim):
    """The layer in numpy (float64): w the layer's weights in Keras' order."""
    qk, qb, kk, kb, vk, vb, ok, ob = [np.asarray(a, np.float64) for a in w]
    qh = np.einsum("ntd,dhk->nthk", q, qk) + qb
    kh = np.einsum("nsd,dhk->nshk", k, kk) + kb
    vh = np.einsum("nsd,dhk->nshk", v, vk) + vb
    s = np.einsum("nthk,nshk->nhts", qh, kh) / np.sqrt(key_dim)
    s = np.where(mask[:, None] != 0, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = np.einsum("nhts,nshv->nthv", p, vh)
    return np.einsum("nthv,hvo->nto", o, ok) + ob


def test_keras_constructor_call_and_config():
    q_in = bm.Input((5, 8), name="query")
    v_in = bm.Input((6, 4), name="value")
    m_in = bm.Input((5, 6), name="mask")
    mha = bm.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5, output_shape=7,
                                       name="attn")
    y = mha(q_in, v_in, attention_mask=m_in)
    assert y.shape == (None, 5, 7)
    model = bm.Model([q_in, v_in, m_in], y)
    config = mha.get_config()
    assert config["num_heads"] == 2 and config["key_dim"] == 3
    assert config["value_dim"] == 5 and config["output_shape"] == 7
    assert config["dropout"] == 0.0 and config["use_bias"] is True
    assert config["use_causal_mask"] is False
    shapes = [tuple(w.shape) for w in mha.weights]
    assert shapes == [(8, 2, 3), (2, 3), (4, 2, 3), (2, 3), (4, 2, 5), (2, 5), (2, 5, 7),
                      (7,)]
    w = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    mha.set_weights(w)
    q, v = randn(3, 5, 8, seed=10), randn(3, 6, 4, seed=11)
    mask = (np.random.default_rng(3).uniform(size=(3, 5, 6)) < 0.8).astype(np.float32)
    mask[:, :, 0] = 1
    got = model.predict([q, v, mask], verbose=0)
    np.testing.assert_allclose(got, reference(q, v, v, w, mask, 3), rtol=1e-4, atol=1e-4)


def test_causal_self_attention_and_defaults():
    x_in = bm.Input((4, 6))
    mha = bm.layers.MultiHeadAttention(3, 2)
    y = mha(x_in, x_in, use_causal_mask=True)
    assert y.shape == (None, 4, 6)
    assert mha.name == "multi_head_attention"
    assert mha.get_config()["use_causal_mask"] is True
    assert mha.get_config()["output_shape"] is None
    model = bm.Model(x_in, y)
    w = mha.get_weights()
    x = randn(2, 4, 6, seed=5)
    mask = np.broadcast_to(np.tril(np.ones((4, 4))), (2, 4, 4))
    np.testing.assert_allclose(model.predict(x, verbose=0), reference(x, x, x, w, mask, 2),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(bm.StateError, match="use_causal_mask=True was fixed"):
        mha(x_in, x_in)


def test_bad_arguments_raise_with_the_librarys_message():
    with pytest.raises(bm.InvalidArgumentError, match="num_heads = 0"):
        bm.layers.MultiHeadAttention(0, 4)
    with pytest.raises(bm.InvalidArgumentError, match="rate = 1"):
        bm.layers.MultiHeadAttention(2, 4, dropout=1.0)
    q_in, v_in = bm.Input((5, 8)), bm.Input((6, 8))
    k_in = bm.Input((7, 8))
    with pytest.raises(bm.ShapeError, match="the key \\(None, 7, 8\\) and the value "
                                            "\\(None, 6, 8\\) differ in length"):
        bm.layers.MultiHeadAttention(2, 4)(q_in, v_in, key=k_in)


def test_return_attention_scores_gives_two_keras_tensors():
    q_in, v_in = bm.Input((4, 6)), bm.Input((5, 6))
    mha = bm.layers.MultiHeadAttention(2, 3)
    out, scores = mha(q_in, v_in, return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 2, 4, 5)
    model = bm.Model([q_in, v_in], [out, scores])
    q, v = randn(3, 4, 6, seed=1), randn(3, 5, 6, seed=2)
    y, p = model.predict([q, v], verbose=0)
    assert p.shape == (3, 2, 4, 5)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
    w = mha.get_weights()
    np.testing.assert_allclose(y, reference(q, v, v, w, np.ones((3, 4, 5)), 3), rtol=1e-4,
                               atol=1e-4)
    with pytest.raises(bm.StateError, match="return_attention_scores=True was fixed"):
        mha(q_in, v_in)


def test_ops_attention_is_the_fused_op():
    q, k, v = randn(2, 4, 3, 5, seed=1), randn(2, 6, 3, 5, seed=2), randn(2, 6, 3, 2, seed=3)
    mask = (np.random.default_rng(4).uniform(size=(2, 4, 6)) < 0.7).astype(np.float32)
    mask[:, :, 0] = 1
    got = bm.ops.attention(q, k, v, mask=mask, causal=True).numpy()
    s = np.einsum("nthd,nshd->nhts", q.astype(np.float64), k) / np.sqrt(5)
    seen = (mask[:, None] != 0) & np.tril(np.ones((4, 6), dtype=bool))
    s = np.where(seen, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, np.einsum("nhts,nshd->nthd", p, v), rtol=1e-5, atol=1e-6)
    with pytest.raises(bm.ShapeError, match="the mask has shape"):
        bm.ops.attention(q, k, v, mask=mask[:, :, :5])
