"""MultiHeadAttention (bgm_layer_multi_head_attention) against PyTorch on
identical weights, in float64 on the torch side:

- the layer's math written with torch ops (einsum over Keras-layout weights,
  masked softmax) for causal self-attention, cross-attention with a key,
  value_dim != key_dim and output_shape, an explicit attention mask (one
  query of it sees nothing: its attention is zero, the output the output
  bias), and padding masks flowing in from an Embedding(mask_zero=True);
- torch.nn.MultiheadAttention itself, with the documented weight mapping
  (docs/design.md), where heads * key_dim == dim: self-attention with a
  causal mask and with a key padding mask.

Outputs, every weight gradient and every input gradient agree within 1e-4 of
the largest reference value of each tensor. The key bias has a zero gradient
in exact arithmetic (softmax ignores the q . b_k it adds to a whole row): it
is compared relative to the key kernel's gradient instead.
"""
import ctypes

import numpy as np
import pytest

from cbridge import (C_FLOAT, C_INT, I64, P, Graph, GraphModel, TapeSession, assert_close,
                     declare_graph_api, make_layer, t64)

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(1313)
MAX_ERR = {}
INT32 = 2


@pytest.fixture(scope="module")
def api(lib):
    declare_graph_api(lib)
    for name, args, res in [
            ("bgm_layer_multi_head_attention", [C_INT, I64], P),
            ("bgm_layer_embedding", [I64, I64], P),
            ("bgm_layer_set_value_dim", [P, I64], C_INT),
            ("bgm_layer_set_output_dim", [P, I64], C_INT),
            ("bgm_layer_set_use_causal_mask", [P, C_INT], C_INT),
            ("bgm_layer_set_mask_zero", [P, C_INT], C_INT),
            ("bgm_layer_set_use_bias", [P, C_INT], C_INT),
            ("bgm_layer_set_return_attention_scores", [P, C_INT], C_INT),
            ("bgm_layer_call_multi", [ctypes.POINTER(P), C_INT, P, ctypes.POINTER(P), C_INT],
             C_INT),
            ("bgm_tape_watch", [P, P], C_INT)]:
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    yield lib
    for what, err in sorted(MAX_ERR.items()):
        print("test_attention_torch: %-48s max relative error %.2e" % (what, err))


def close(got, want, what, scale=None):
    err = assert_close(np.asarray(got), want, what, scale=scale)
    MAX_ERR[what] = max(MAX_ERR.get(what, 0.0), err)


def f32(*shape, scale=1.0):
    return (RNG.normal(0, scale, shape)).astype(np.float32)


def mha_weights(h, kd, vd, dq, dk, dv, out, bias=True):
    """Random weights in Keras' names and layouts."""
    w = {"query/kernel": f32(dq, h, kd, scale=0.5), "key/kernel": f32(dk, h, kd, scale=0.5),
         "value/kernel": f32(dv, h, vd, scale=0.5),
         "attention_output/kernel": f32(h, vd, out, scale=0.5)}
    if bias:
        w.update({"query/bias": f32(h, kd), "key/bias": f32(h, kd), "value/bias": f32(h, vd),
                  "attention_output/bias": f32(out)})
    return w


def torch_mha(w, q, v, k, mask, key_dim):
    """The layer with torch ops on float64 tensors: w {name: tensor}, mask a
    boolean (N, T, S) tensor (True attends) or None. A query that sees
    nothing gets zero attention."""
    def proj(x, name):
        y = torch.einsum("nld,dhk->nlhk", x, w[name + "/kernel"])
        return y + w[name + "/bias"] if name + "/bias" in w else y
    qh, kh, vh = proj(q, "query"), proj(k, "key"), proj(v, "value")
    scores = torch.einsum("nthk,nshk->nhts", qh, kh) / np.sqrt(key_dim)
    if mask is not None:
        m = mask[:, None, :, :]
        scores = scores.masked_fill(~m, -1e300)
        probs = F.softmax(scores, dim=-1) * m.any(dim=-1, keepdim=True)
    else:
        probs = F.softmax(scores, dim=-1)
    o = torch.einsum("nhts,nshv->nthv", probs, vh)
    y = torch.einsum("nthv,hvo->nto", o, w["attention_output/kernel"])
    if "attention_output/bias" in w:
        y = y + w["attention_output/bias"]
    return y


def causal(t, s):
    return torch.tensor(np.tril(np.ones((t, s), dtype=bool)))


def step(model, inputs, watch, r):
    """Training-mode forward on a new tape, loss sum(out_j * r_j) over the
    outputs (r a list for several), gradients of every trainable weight and of
    the inputs marked in watch: (output(s), grads by name, input grads)."""
    lib = model.lib
    rs = r if isinstance(r, list) else [r]
    s = TapeSession(lib)
    try:
        xs = [s.tensor(x, watch=wt) for x, wt in zip(inputs, watch)]
        out = (P * len(rs))()
        assert lib.bgm_model_forward_multi(out, len(rs), model.m, s.tape, (P * len(xs))(*xs),
                                           len(xs), 1) == 0, lib.bgm_last_error()
        loss = s.weighted_sum(out[0], rs[0])
        for j in range(1, len(rs)):
            loss = s.call("bgm_op_add", loss, s.weighted_sum(out[j], rs[j]))
        handles, names = model.trainable()
        srcs = handles + [x for x, wt in zip(xs, watch) if wt]
        grads = s.gradient(loss, srcs)
        outs = [s.read(o) for o in out]
        return (outs if isinstance(r, list) else outs[0], dict(zip(names, grads[:len(names)])),
                grads[len(names):])
    finally:
        s.close()


def compare(tag, w, ours_out, ours_grads, ours_in_grads, ref_out, wt, ref_inputs):
    close(ours_out, ref_out.detach().numpy(), tag + ": output")
    layer = "multi_head_attention/"
    for name in w:
        scale = None
        if name == "key/bias":
            scale = np.abs(wt["key/kernel"].grad.numpy()).max()
        close(ours_grads[layer + name], wt[name].grad.numpy(), tag + ": gradient " + name,
              scale=scale)
    for i, (got, x) in enumerate(zip(ours_in_grads, ref_inputs)):
        close(got, x.grad.numpy(), "%s: input gradient %d" % (tag, i))


CASES = {
    # name: (T, S, dq, dv, dk, heads, key_dim, value_dim, output, key, mask, causal)
    "causal self-attention": (6, 6, 8, 8, 8, 2, 4, None, None, False, False, True),
    "cross, key, value_dim, output_shape": (4, 7, 6, 5, 3, 3, 2, 5, 9, True, False, False),
    "attention mask": (5, 4, 6, 6, 6, 2, 3, None, None, False, True, False),
    "mask and causal, long": (40, 40, 8, 8, 8, 2, 4, 3, None, True, True, True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mha_matches_torch_einsum(api, case):
    t, s, dq, dv, dk, h, kd, vd, out, has_key, has_mask, is_causal = CASES[case]
    n = 3
    vd_eff = vd or kd
    out_eff = out or dq
    g = Graph(api)
    opts = {"use_causal_mask": int(is_causal)}
    if vd:
        opts["value_dim"] = vd
    if out:
        opts["output_dim"] = out
    layer = make_layer(api, "multi_head_attention", h, kd, **opts)
    nodes = [g.input((t, dq), "q"), g.input((s, dv), "v")]
    if has_key or has_mask:
        nodes.append(g.input((s, dk), "k") if has_key else nodes[1])
    if has_mask:
        nodes.append(g.input((t, s), "mask"))
    y = g(layer, *nodes)
    model_inputs = [nd for i, nd in enumerate(nodes) if i != 2 or has_key]
    model = g.model(model_inputs, [y], seed=3)
    g.close()
    try:
        w = mha_weights(h, kd, vd_eff, dq, dk if has_key else dv, dv, out_eff)
        model.set_weights({"multi_head_attention/" + k: v for k, v in w.items()})
        q, v = f32(n, t, dq), f32(n, s, dv)
        k = f32(n, s, dk) if has_key else None
        mask = None
        if has_mask:
            mask = (RNG.uniform(size=(n, t, s)) < 0.7).astype(np.float32)
            mask[0, 1, :] = 0  # a query that sees nothing
        inputs = [q, v] + ([k] if has_key else []) + ([mask] if has_mask else [])
        r = f32(n, t, out_eff)
        got, grads, in_grads = step(model, inputs, [True] * (2 + has_key) + [False] * has_mask,
                                    r)

        wt = {name: t64(a) for name, a in w.items()}
        qt, vt = t64(q), t64(v)
        kt = t64(k) if has_key else vt
        m = None
        if has_mask:
            m = torch.tensor(mask != 0)
        if is_causal:
            c = causal(t, s)[None]
            m = c.expand(n, t, s) if m is None else m & c
        ref = torch_mha(wt, qt, vt, kt, m, kd)
        (ref * t64(r, grad=False)).sum().backward()
        compare(case, w, got, grads, in_grads, ref, wt, [qt, vt] + ([kt] if has_key else []))
        if has_mask:  # the query that sees nothing: the output bias alone
            close(got[0, 1], w["attention_output/bias"], case + ": a query seeing nothing")
        # inference gives the training outputs (no dropout)
        close(model.predict(inputs, batch_size=2)[0], ref.detach().numpy(), case + ": predict")
    finally:
        model.close()


def test_padding_masks_from_an_embedding_match_torch(api):
    """ids -> Embedding(mask_zero) -> MHA(e, e, causal): Keras combines the
    query's and the value's padding masks with the causal mask."""
    n, t, vocab, d, h, kd = 3, 7, 11, 8, 2, 4
    g = Graph(api)
    ids_node = g.input((t,), "ids", dtype=INT32)
    emb = make_layer(api, "embedding", vocab, d, mask_zero=1)
    e = g(emb, ids_node)
    y = g(make_layer(api, "multi_head_attention", h, kd, use_causal_mask=1), e, e)
    model = g.model([ids_node], [y], seed=4)
    g.close()
    try:
        w = mha_weights(h, kd, kd, d, d, d, d)
        table = f32(vocab, d)
        named = {"multi_head_attention/" + k: v for k, v in w.items()}
        named["embedding/embeddings"] = table
        model.set_weights(named)
        ids = RNG.integers(1, vocab, (n, t)).astype(np.int32)
        ids[0, 4:] = 0   # trailing padding
        ids[1, 0] = 0    # a padded first step: query 0 sees nothing
        ids[2, 2] = 0
        r = f32(n, t, d)
        got, grads, _ = step(model, [ids], [False], r)

        wt = {name: t64(a) for name, a in w.items()}
        tt = t64(table)
        x = tt[torch.tensor(ids.astype(np.int64))]
        valid = torch.tensor(ids != 0)
        m = valid[:, :, None] & valid[:, None, :] & causal(t, t)[None]
        ref = torch_mha(wt, x, x, x, m, kd)
        (ref * t64(r, grad=False)).sum().backward()
        compare("padding masks", w, got, grads, [], ref, wt, [])
        close(grads["embedding/embeddings"], tt.grad.numpy(), "padding masks: embeddings")
    finally:
        model.close()


def torch_weights(w, h, kd, d):
    """Keras-layout weights as nn.MultiheadAttention's (heads * key_dim == d):
    in_proj_weight rows [Wq; Wk; Wv], each (d_out, d_in) = the kernel
    (d_in, heads, key_dim) flattened to (d_in, heads * key_dim) and transposed;
    in_proj_bias [bq; bk; bv] flattened; out_proj.weight = the output kernel
    (heads, value_dim, d) flattened to (heads * value_dim, d) and transposed."""
    def flat(name):
        return w[name + "/kernel"].reshape(d, h * kd).T
    return {"in_proj_weight": np.concatenate([flat("query"), flat("key"), flat("value")]),
            "in_proj_bias": np.concatenate([w["query/bias"].ravel(), w["key/bias"].ravel(),
                                            w["value/bias"].ravel()]),
            "out_proj.weight": w["attention_output/kernel"].reshape(h * kd, d).T,
            "out_proj.bias": w["attention_output/bias"]}


def keras_grads(mod, h, kd, d):
    """The gradients of mod's parameters in Keras' names and layouts."""
    gi = mod.in_proj_weight.grad.numpy()
    gb = mod.in_proj_bias.grad.numpy()
    out = {}
    for i, name in enumerate(["query", "key", "value"]):
        out[name + "/kernel"] = gi[i * d:(i + 1) * d].T.reshape(d, h, kd)
        out[name + "/bias"] = gb[i * d:(i + 1) * d].reshape(h, kd)
    out["attention_output/kernel"] = mod.out_proj.weight.grad.numpy().T.reshape(h, kd, d)
    out["attention_output/bias"] = mod.out_proj.bias.grad.numpy()
    return out


@pytest.mark.parametrize("mode", ["causal", "key padding"])
def test_mha_matches_torch_multihead_attention(api, mode):
    n, t, h, kd = 2, 6, 4, 3
    d = h * kd
    g = Graph(api)
    ids_node = None
    if mode == "causal":
        x_node = g.input((t, d), "x")
        y = g(make_layer(api, "multi_head_attention", h, kd, use_causal_mask=1), x_node, x_node)
        model = g.model([x_node], [y], seed=6)
    else:
        ids_node = g.input((t,), "ids", dtype=INT32)
        e = g(make_layer(api, "embedding", 9, d, mask_zero=1), ids_node)
        y = g(make_layer(api, "multi_head_attention", h, kd), e, e)
        model = g.model([ids_node], [y], seed=6)
    g.close()
    try:
        w = mha_weights(h, kd, kd, d, d, d, d)
        named = {"multi_head_attention/" + k: v for k, v in w.items()}
        torch.manual_seed(0)
        mod = torch.nn.MultiheadAttention(d, h, batch_first=True).double()
        with torch.no_grad():
            params = dict(mod.named_parameters())
            for name, value in torch_weights(w, h, kd, d).items():
                params[name].copy_(torch.tensor(value.astype(np.float64)))
        r = f32(n, t, d)
        if mode == "causal":
            x = f32(n, t, d)
            xt = t64(x)
            ref, _ = mod(xt, xt, xt, attn_mask=torch.triu(torch.ones(t, t, dtype=torch.bool), 1))
            inputs = [xt]
        else:
            table = f32(9, d)
            named["embedding/embeddings"] = table
            ids = RNG.integers(1, 9, (n, t)).astype(np.int32)
            ids[0, 3:] = 0
            ids[1, 1] = 0
            xt = t64(table, grad=False)[torch.tensor(ids.astype(np.int64))]
            ref, _ = mod(xt, xt, xt, key_padding_mask=torch.tensor(ids == 0))
            # Keras also hides every key from a padded query (torch does not):
            # those rows differ by design and stay out of the loss.
            r[ids == 0] = 0
            ref = ref * torch.tensor((ids != 0)[:, :, None].astype(np.float64))
            inputs = []
        model.set_weights(named)
        if mode == "causal":
            got, grads, in_grads = step(model, [x], [True], r)
        else:
            got, grads, in_grads = step(model, [ids], [False], r)
        if mode != "causal":
            got = got * (ids != 0)[:, :, None]
        (ref * t64(r, grad=False)).sum().backward()
        close(got, ref.detach().numpy(), "nn.MultiheadAttention %s: output" % mode)
        want = keras_grads(mod, h, kd, d)
        for name in want:
            scale = np.abs(want["key/kernel"]).max() if name == "key/bias" else None
            close(grads["multi_head_attention/" + name], want[name],
                  "nn.MultiheadAttention %s: gradient %s" % (mode, name), scale=scale)
        for got_g, xi in zip(in_grads, inputs):
            close(got_g, xi.grad.numpy(), "nn.MultiheadAttention %s: input gradient" % mode)
    finally:
        model.close()


def test_attention_scores_match_torch_multihead_attention(api):
    """return_attention_scores: torch's per-head weights (need_weights=True,
    average_attn_weights=False) and the output, with a loss on both."""
    n, t, s_len, h, kd = 2, 5, 7, 3, 2
    d = h * kd
    g = Graph(api)
    q_node, v_node = g.input((t, d), "q"), g.input((s_len, d), "v")
    layer = make_layer(api, "multi_head_attention", h, kd, return_attention_scores=1)
    outs = (P * 2)()
    nodes = (P * 2)(q_node, v_node)
    assert api.bgm_layer_call_multi(outs, 2, layer, nodes, 2) == 0, api.bgm_last_error()
    model = g.model([q_node, v_node], [outs[0], outs[1]], seed=8)
    g.close()
    try:
        w = mha_weights(h, kd, kd, d, d, d, d)
        model.set_weights({"multi_head_attention/" + k: v for k, v in w.items()})
        q, v = f32(n, t, d), f32(n, s_len, d)
        r1, r2 = f32(n, t, d), f32(n, h, t, s_len)
        (got, scores), grads, in_grads = step(model, [q, v], [True, True], [r1, r2])

        mod = torch.nn.MultiheadAttention(d, h, batch_first=True).double()
        with torch.no_grad():
            params = dict(mod.named_parameters())
            for name, value in torch_weights(w, h, kd, d).items():
                params[name].copy_(torch.tensor(value.astype(np.float64)))
        qt, vt = t64(q), t64(v)
        ref, ref_scores = mod(qt, vt, vt, need_weights=True, average_attn_weights=False)
        ((ref * t64(r1, grad=False)).sum() + (ref_scores * t64(r2, grad=False)).sum()).backward()
        close(got, ref.detach().numpy(), "scores: output")
        close(scores, ref_scores.detach().numpy(), "scores: attention scores")
        want = keras_grads(mod, h, kd, d)
        for name in want:
            scale = np.abs(want["key/kernel"]).max() if name == "key/bias" else None
            close(grads["multi_head_attention/" + name], want[name], "scores: gradient " + name,
                  scale=scale)
        close(in_grads[0], qt.grad.numpy(), "scores: query gradient")
        close(in_grads[1], vt.grad.numpy(), "scores: value gradient")
    finally:
        model.close()
