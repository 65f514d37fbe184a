"""Text (cleaning, vocabularies, padding, text datasets, word2vec) and the
sequence ops (embedding, LSTM, GRU) through the Python bindings."""
import gc
import sys

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _lib, ops, text

tensor_module = sys.modules["bigmodel.tensor"]
DOCS = ["The cat sat on the mat.", "The dog sat on the log!", "Cats and dogs, and cats."]


def test_clean_and_tokenize_follow_the_library_rules():
    assert text.clean("Hello, World!  Don't STOP 42") == "hello world dont stop 42"
    assert text.clean("Año 2024", strip_digits=True, lowercase=False) == "Año"
    assert text.clean(b"A\xffB") == b"a b"          # invalid UTF-8 becomes a space
    assert text.tokenize("The cat, the hat.") == ["the", "cat", "the", "hat"]
    assert text.tokenize("") == []
    with pytest.raises(TypeError, match="unknown option"):
        text.clean("x", lower=True)
    with pytest.raises(bm.InvalidArgumentError, match="str or bytes"):
        text.tokenize(42)


def test_a_vocabulary_numbers_tokens_by_frequency(tmp_path):
    vocab = text.Vocabulary(DOCS)
    assert vocab.get_vocabulary()[:6] == ["", "[UNK]", "the", "sat", "on", "cats"]
    assert len(vocab) == 12
    assert vocab.id("the") == 2 and vocab.id("zebra") == text.OOV
    assert vocab.count("the") == 4 and "cat" in vocab and "zebra" not in vocab
    assert vocab.token(0) == "" and vocab.token(1) == "[UNK]"
    with pytest.raises(IndexError):
        vocab.token(12)
    np.testing.assert_array_equal(vocab.encode("The cat ate"), [2, vocab.id("cat"), 1])
    padded = vocab.encode_padded(DOCS, maxlen=4)
    assert padded.dtype == np.int32 and padded.shape == (3, 4)
    np.testing.assert_array_equal(
        padded, text.pad_sequences([vocab.encode(d) for d in DOCS], maxlen=4))
    small = text.Vocabulary(DOCS, max_size=4)
    assert small.get_vocabulary() == ["", "[UNK]", "the", "sat"]
    path = tmp_path / "vocab.txt"
    vocab.save(str(path))
    assert path.read_text().splitlines()[0] == "the 4"
    again = text.Vocabulary.load(str(path))
    assert again.get_vocabulary() == vocab.get_vocabulary()
    path.write_text("a\n\nb\n")
    with pytest.raises(bm.FormatError, match="line 2"):
        text.Vocabulary.load(str(path))
    with pytest.raises(bm.InvalidArgumentError, match="min_count 0"):
        text.Vocabulary(DOCS, min_count=0)


def test_pad_sequences_matches_keras():
    seqs = [[1, 2, 3], [4], []]
    np.testing.assert_array_equal(text.pad_sequences(seqs),
                                  [[1, 2, 3], [0, 0, 4], [0, 0, 0]])
    np.testing.assert_array_equal(text.pad_sequences(seqs, maxlen=2),
                                  [[2, 3], [0, 4], [0, 0]])
    np.testing.assert_array_equal(
        text.pad_sequences(seqs, maxlen=2, padding="post", truncating="post", value=9),
        [[1, 2], [4, 9], [9, 9]])
    np.testing.assert_array_equal(text.pad_sequences([np.array([5, 6], np.int64)]),
                                  [[5, 6]])
    with pytest.raises(bm.InvalidArgumentError, match="'pre' or 'post'"):
        text.pad_sequences(seqs, padding="left")


def test_text_datasets_from_folders(tmp_path):
    for split, docs in (("train", {"neg": ["bad awful film", "awful plot"],
                                   "pos": ["great film", "great great acting", "fine"]}),
                        ("test", {"neg": ["awful"], "pos": ["great unseen words"]})):
        for label, texts in docs.items():
            (tmp_path / split / label).mkdir(parents=True)
            for i, t in enumerate(texts):
                (tmp_path / split / label / ("%d.txt" % i)).write_text(t)
    train, vocab, classes = text.text_dataset_from_directory(str(tmp_path / "train"),
                                                             sequence_length=3)
    assert classes == ["neg", "pos"] and len(train) == 5
    np.testing.assert_array_equal(train.y.numpy(), [0, 0, 1, 1, 1])
    assert train.x.shape == (5, 3) and train.x.dtype == "int32"
    assert vocab.get_vocabulary()[2] == "great"
    test, same, _ = text.text_dataset_from_directory(str(tmp_path / "test"),
                                                     vocabulary=vocab, sequence_length=3)
    assert same.get_vocabulary() == vocab.get_vocabulary()
    np.testing.assert_array_equal(test.x.numpy()[1], [2, 1, 1])   # unseen words: OOV
    files, _ = text.text_dataset_from_files(
        [str(tmp_path / "train" / "pos" / "0.txt")], [1], vocabulary=vocab)
    np.testing.assert_array_equal(files.x.numpy(), [[vocab.id("great"), vocab.id("film")]])
    with pytest.raises(bm.FileIOError):
        text.text_dataset_from_directory(str(tmp_path / "missing"))


CORPUS = ["king queen man woman royal palace crown"] * 150 + \
         ["dog cat pet animal fur paw tail"] * 150


def test_word2vec_trains_deterministically_and_round_trips(tmp_path):
    a = text.Word2Vec(CORPUS, vector_size=16, min_count=1, epochs=2, seed=3)
    b = text.Word2Vec(CORPUS, vector_size=16, min_count=1, epochs=2, seed=3)
    assert len(a) == 14 and a.vector_size == 16 and a.words[0] == "king"
    np.testing.assert_array_equal(a["dog"], b["dog"])
    near = a.most_similar("dog", topn=3)
    assert len(near) == 3 and near[0][1] >= near[1][1] >= near[2][1]
    assert "king" in a and a.index("zebra") == -1
    with pytest.raises(bm.RangeError, match="'zebra' is not in the vocabulary"):
        a.vector("zebra")
    docs = a.document_vectors(["dog cat", "nothing known"])
    np.testing.assert_allclose(docs[0], (a["dog"] + a["cat"]) / 2, rtol=1e-6)
    assert not docs[1].any()
    vocab = text.Vocabulary(["dog zebra"])
    matrix = a.embedding_matrix(vocab)
    assert matrix.shape == (4, 16) and not matrix[:2].any() and not matrix[3].any()
    np.testing.assert_array_equal(matrix[2], a["dog"])
    path = str(tmp_path / "vectors.txt")
    a.save(path)
    loaded = text.Word2Vec.load(path)
    assert loaded.words == a.words
    np.testing.assert_array_equal(loaded["paw"], a["paw"])


def test_word2vec_progress_can_stop_and_its_exceptions_are_reraised():
    seen = []
    big = CORPUS * 800   # over a million words: progress after each slice

    def progress(epoch, done, rate, alpha, loss):
        seen.append((epoch, done))
        return True

    with pytest.raises(bm.CancelledError, match="stopped by the progress callback"):
        text.Word2Vec(big, vector_size=4, min_count=1, epochs=3, progress=progress)
    assert len(seen) == 1 and seen[0][0] == 1

    def broken(*args):
        raise RuntimeError("progress failed")

    with pytest.raises(RuntimeError, match="progress failed"):
        text.Word2Vec(big, vector_size=4, min_count=1, epochs=1, progress=broken)
    with pytest.raises(bm.InvalidArgumentError, match="min_count"):
        text.Word2Vec(["rare words"], min_count=5)


def test_text_objects_do_not_leak():
    def cycle(i):
        v = text.Vocabulary(DOCS, max_size=8)
        x = v.encode_padded(DOCS, maxlen=5)
        text.tokenize(DOCS[i % 3])
        text.pad_sequences([[1, 2], [3]])
        assert x.shape == (3, 5)

    for i in range(100):
        cycle(i)
    gc.collect()
    counts, kept = dict(_lib.live), tensor_module.kept_buffers()
    for i in range(2000):
        cycle(i)
    gc.collect()
    assert {k: v for k, v in _lib.live.items() if v != counts.get(k, 0)} == {}
    assert tensor_module.kept_buffers() == kept


# ---- sequence ops --------------------------------------------------------------------


def test_embedding_and_sequence_mask():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    ids = np.array([[0, 3], [2, 2]], np.int32)
    np.testing.assert_array_equal(ops.embedding(ids, table).numpy(), table[ids])
    np.testing.assert_array_equal(ops.sequence_mask(ids).numpy(), [[0, 1], [1, 1]])
    w = bm.Variable(table)
    with bm.GradientTape() as tape:
        loss = ops.reduce_sum(ops.embedding(ids, w))
    np.testing.assert_array_equal(tape.gradient(loss, w).numpy(),
                                  [[1] * 3, [0] * 3, [2] * 3, [1] * 3])
    with pytest.raises(bm.RangeError):
        ops.embedding([[4]], table)


def test_lstm_and_gru_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    n, t, f, h = 2, 5, 3, 4
    x = rng.normal(size=(n, t, f)).astype(np.float32)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(f, h, batch_first=True)
    w_ih = lstm.weight_ih_l0.detach().numpy().T.copy()
    w_hh = lstm.weight_hh_l0.detach().numpy().T.copy()
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    want = lstm(torch.from_numpy(x))[0].detach().numpy()
    got = ops.lstm(x, w_ih, w_hh, bias, return_sequences=True).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(ops.lstm(x, w_ih, w_hh, bias).numpy(), want[:, -1], atol=1e-5)

    gru = torch.nn.GRU(f, h, batch_first=True)

    def keras_order(w):   # PyTorch's r, z, n blocks to z, r, n
        r, z, nn = np.split(w, 3, axis=0)
        return np.concatenate([z, r, nn], axis=0)

    g_ih = keras_order(gru.weight_ih_l0.detach().numpy()).T.copy()
    g_hh = keras_order(gru.weight_hh_l0.detach().numpy()).T.copy()
    g_bias = np.stack([keras_order(gru.bias_ih_l0.detach().numpy()),
                       keras_order(gru.bias_hh_l0.detach().numpy())])
    want = gru(torch.from_numpy(x))[0].detach().numpy()
    got = ops.gru(x, g_ih, g_hh, g_bias, return_sequences=True).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)

    wi = bm.Variable(w_ih)
    with bm.GradientTape() as tape:
        loss = ops.reduce_sum(ops.lstm(x, wi, w_hh, bias, mask=np.ones((n, t), np.float32),
                                       reverse=True))
    assert tape.gradient(loss, wi).shape == (f, 4 * h)
    with pytest.raises(bm.ShapeError):
        ops.lstm(x, w_hh, w_hh)
