"""Text: cleaning, tokenizing, vocabularies, padding, text datasets and
word2vec (bigmodel/text.h).

    vocab = bigmodel.text.Vocabulary(train_docs, max_size=20000)
    x = vocab.encode_padded(train_docs, maxlen=100)        # (N, 100) int32 ids
    x = bigmodel.text.pad_sequences([[3, 4], [5]], maxlen=4)
    ds, vocab, classes = bigmodel.text.text_dataset_from_directory(
        "aclImdb/train", max_size=20000, sequence_length=100)
    w2v = bigmodel.text.Word2Vec(docs, vector_size=50, min_count=2, seed=1)
    w2v.most_similar("king", topn=5)

Documents are ``str`` (encoded as UTF-8) or ``bytes`` (passed as they are;
the library accepts any bytes). The cleaning options of every function are
keywords: ``lowercase=True, strip_punctuation=True, strip_digits=False,
collapse_whitespace=True, strip_headers=False``. Ids 0 and 1 are reserved
for padding and unknown words, as in Keras' TextVectorization.

Arrays come back as numpy arrays when numpy is present, else as Tensors.
"""
import ctypes
import os

from . import _compat
from . import _lib
from ._interrupt import CancelOnSigint
from ._lib import lib
from .data import Dataset
from ._handle import Handle
from .errors import BigmodelError, InvalidArgumentError
from .tensor import Tensor, as_tensor, int32

__all__ = ["clean", "tokenize", "Vocabulary", "pad_sequences", "text_dataset_from_directory",
           "text_dataset_from_files", "Word2Vec", "PAD", "OOV"]

PAD, OOV = 0, 1
_SIDES = {"pre": 0, "post": 1}
_ARCHS = {"skipgram": 0, "skip-gram": 0, "sg": 0, "cbow": 1}
_CLEAN_KEYS = ("lowercase", "strip_punctuation", "strip_digits", "collapse_whitespace",
               "strip_headers")


def _bytes(text, what="text"):
    if isinstance(text, str):
        return text.encode("utf-8")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise InvalidArgumentError("%s must be str or bytes, got %s" % (what, type(text).__name__))


def _decode(b):
    return b.decode("utf-8", "replace")


def _clean_options(options):
    unknown = set(options) - set(_CLEAN_KEYS)
    if unknown:
        raise TypeError("unknown option(s) %s; the cleaning options are %s"
                        % (", ".join(sorted(unknown)), ", ".join(_CLEAN_KEYS)))
    opts = _lib.TextCleanOptions()
    lib.bgm_text_clean_options_init(ctypes.byref(opts))
    for key, value in options.items():
        setattr(opts, key, 1 if value else 0)
    return opts


class _Docs:
    """ndocs documents as the library takes them: char* array and lengths."""

    def __init__(self, docs):
        if isinstance(docs, (str, bytes)):
            raise InvalidArgumentError("expected a list of documents, got a single %s"
                                       % type(docs).__name__)
        self.data = [_bytes(d, "each document") for d in docs]
        n = len(self.data)
        self.n = n
        self.ptrs = (ctypes.c_char_p * max(n, 1))(*self.data)
        self.lens = (ctypes.c_int64 * max(n, 1))(*[len(d) for d in self.data])


def _result(ptr):
    """A new caller-owned tensor as a numpy array (or the Tensor without numpy)."""
    t = Tensor._adopt(ptr)
    return t.numpy() if _compat.np is not None else t


def _side(value, what):
    if value not in _SIDES:
        raise InvalidArgumentError("%s must be 'pre' or 'post', got %r" % (what, value))
    return _SIDES[value]


# ---- cleaning and tokens -----------------------------------------------------------


def clean(text, **options):
    """The cleaned text (a str for a str, bytes for bytes)."""
    raw = _bytes(text)
    opts = _clean_options(options)
    out, n = ctypes.c_void_p(), ctypes.c_int64()
    lib.bgm_text_clean(ctypes.byref(out), ctypes.byref(n), raw, len(raw), ctypes.byref(opts))
    try:
        result = ctypes.string_at(out.value, n.value)
    finally:
        lib.bgm_text_free(out.value)
    return _decode(result) if isinstance(text, str) else result


def tokenize(text, **options):
    """The words of the cleaned text, as a list of str."""
    raw = _bytes(text)
    opts = _clean_options(options)
    out, n = ctypes.c_void_p(), ctypes.c_int64()
    lib.bgm_text_tokenize(ctypes.byref(out), ctypes.byref(n), raw, len(raw),
                          ctypes.byref(opts))
    try:
        words = ctypes.cast(out.value, ctypes.POINTER(ctypes.c_char_p))
        return [_decode(words[i]) for i in range(n.value)]
    finally:
        lib.bgm_text_list_free(out.value)


def pad_sequences(sequences, maxlen=None, padding="pre", truncating="pre", value=0):
    """Keras' pad_sequences: (n, maxlen) int32 of the id sequences, padded with value
    and cut at the start ('pre') or end ('post'); maxlen None: the longest."""
    seqs = [as_tensor(s, int32) if len(s) else None for s in sequences]
    for s in seqs:
        if s is not None and s.ndim != 1:
            raise InvalidArgumentError("each sequence must be 1-D, got shape %s" % (s.shape,))
    n = len(seqs)
    ptrs = (ctypes.c_void_p * max(n, 1))(*[lib.bgm_tensor_data(s._h) if s is not None
                                           else None for s in seqs])
    lens = (ctypes.c_int64 * max(n, 1))(*[s.shape[0] if s is not None else 0 for s in seqs])
    out = ctypes.c_void_p()
    lib.bgm_pad_sequences(ctypes.byref(out), ptrs, lens, n, int(maxlen or 0),
                          _side(padding, "padding"), _side(truncating, "truncating"),
                          int(value))
    return _result(out.value)


# ---- vocabularies --------------------------------------------------------------------


class Vocabulary(Handle):
    """Token <-> id mapping, most frequent tokens first from id 2 (0: padding,
    1: unknown). ``Vocabulary(docs, min_count=1, max_size=0, **clean_options)``
    builds one (max_size counts the 2 reserved ids, as Keras' max_tokens);
    ``Vocabulary.load(path)`` reads a saved one."""

    _free_fn, _counter, _what = "bgm_vocab_free", "vocab", "vocabulary"

    def __init__(self, docs, min_count=1, max_size=0, **clean_options):
        d = _Docs(docs)
        self._clean = _clean_options(clean_options)
        opts = _lib.VocabOptions()
        lib.bgm_vocab_options_init(ctypes.byref(opts))
        opts.min_count, opts.max_size = int(min_count), int(max_size or 0)
        opts.clean = ctypes.pointer(self._clean)
        self._make(lib.bgm_vocab_build, d.ptrs, d.lens, d.n, ctypes.byref(opts))

    @classmethod
    def _adopt(cls, ptr, clean_opts=None):
        v = cls.__new__(cls)
        v._clean = clean_opts if clean_opts is not None else _clean_options({})
        v._take(ptr)
        return v

    @classmethod
    def load(cls, path, **clean_options):
        """A vocabulary saved by save() (or a plain token list, one per line);
        clean_options: how encode() should clean text."""
        out = ctypes.c_void_p()
        lib.bgm_vocab_load(ctypes.byref(out), os.fsencode(path))
        return cls._adopt(out.value, _clean_options(clean_options))

    def save(self, path):
        """Writes "token count" lines (atomically)."""
        lib.bgm_vocab_save(self._h, os.fsencode(path))

    # -- lookups --

    def __len__(self):
        return lib.bgm_vocab_size(self._h)

    def id(self, token):
        """Id of token (OOV = 1 when unknown)."""
        raw = _bytes(token, "token")
        return lib.bgm_vocab_id(self._h, raw, len(raw))

    def __contains__(self, token):
        return self.id(token) >= 2

    def token(self, i):
        """Token of id i ('' for 0, '[UNK]' for 1)."""
        t = lib.bgm_vocab_token(self._h, int(i))
        if t is None:
            raise IndexError("id %d is outside [0, %d)" % (i, len(self)))
        return _decode(t)

    def count(self, token_or_id):
        """How often a token occurred in the documents the vocabulary was built from."""
        i = token_or_id if isinstance(token_or_id, int) else self.id(token_or_id)
        return lib.bgm_vocab_count(self._h, int(i))

    def get_vocabulary(self):
        """Every token by id, as Keras' TextVectorization.get_vocabulary()."""
        return [self.token(i) for i in range(len(self))]

    # -- encoding --

    def encode(self, text):
        """int32 ids (n,) of the words of text."""
        raw = _bytes(text)
        out = ctypes.c_void_p()
        lib.bgm_vocab_encode(ctypes.byref(out), self._h, raw, len(raw),
                             ctypes.byref(self._clean))
        return _result(out.value)

    def encode_padded(self, docs, maxlen=None, padding="pre", truncating="pre"):
        """int32 (ndocs, maxlen) ids of every document, padded with 0 as pad_sequences."""
        d = _Docs(docs)
        out = ctypes.c_void_p()
        lib.bgm_vocab_encode_padded(ctypes.byref(out), self._h, d.ptrs, d.lens, d.n,
                                    int(maxlen or 0), _side(padding, "padding"),
                                    _side(truncating, "truncating"),
                                    ctypes.byref(self._clean))
        return _result(out.value)

    def __repr__(self):
        return "<Vocabulary of %d ids>" % len(self) if self._ptr else "<Vocabulary closed>"


# ---- text datasets ---------------------------------------------------------------------


def _dataset_options(vocabulary, min_count, max_size, sequence_length, padding, truncating,
                     clean_options):
    clean_opts = _clean_options(clean_options)
    opts = _lib.TextDatasetOptions()
    lib.bgm_text_dataset_options_init(ctypes.byref(opts))
    opts.clean = ctypes.pointer(clean_opts)
    opts.vocab = vocabulary._h if vocabulary is not None else None
    opts.min_count, opts.max_size = int(min_count), int(max_size or 0)
    opts.sequence_length = int(sequence_length or 0)
    opts.padding, opts.truncating = _side(padding, "padding"), _side(truncating, "truncating")
    return opts, clean_opts


def text_dataset_from_directory(directory, vocabulary=None, min_count=1, max_size=0,
                                sequence_length=None, padding="pre", truncating="pre",
                                **clean_options):
    """(dataset, vocabulary, class_names) from one subfolder per class (Keras'
    text_dataset_from_directory): features int32 (N, sequence_length) ids,
    targets int32 labels in sorted folder order. Without vocabulary one is
    built from these documents (pass the training set's for a test set)."""
    opts, clean_opts = _dataset_options(vocabulary, min_count, max_size, sequence_length,
                                        padding, truncating, clean_options)
    out, vocab, names = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    lib.bgm_text_dataset_from_directory(ctypes.byref(out), ctypes.byref(vocab),
                                        ctypes.byref(names), os.fsencode(directory),
                                        ctypes.byref(opts))
    ds = Dataset._adopt(out.value)
    v = Vocabulary._adopt(vocab.value, clean_opts)
    try:
        lst = ctypes.cast(names.value, ctypes.POINTER(ctypes.c_char_p))
        classes, i = [], 0
        while lst[i] is not None:
            classes.append(_decode(lst[i]))
            i += 1
    finally:
        lib.bgm_text_list_free(names.value)
    return ds, v, classes


def text_dataset_from_files(paths, labels, vocabulary=None, min_count=1, max_size=0,
                            sequence_length=None, padding="pre", truncating="pre",
                            **clean_options):
    """(dataset, vocabulary) of the files paths[i] with int labels[i], in that order."""
    opts, clean_opts = _dataset_options(vocabulary, min_count, max_size, sequence_length,
                                        padding, truncating, clean_options)
    encoded = [os.fsencode(p) for p in paths]
    labels = [int(x) for x in labels]
    n = len(encoded)
    if len(labels) != n:
        raise InvalidArgumentError("%d paths but %d labels" % (n, len(labels)))
    out, vocab = ctypes.c_void_p(), ctypes.c_void_p()
    lib.bgm_text_dataset_from_files(ctypes.byref(out), ctypes.byref(vocab),
                                    (ctypes.c_char_p * max(n, 1))(*encoded),
                                    (ctypes.c_int32 * max(n, 1))(*labels), n,
                                    ctypes.byref(opts))
    return Dataset._adopt(out.value), Vocabulary._adopt(vocab.value, clean_opts)


# ---- word2vec --------------------------------------------------------------------------


class Word2Vec(Handle):
    """Word vectors trained with negative sampling (word2vec), or loaded.

    ``Word2Vec(docs, vector_size=100, window=5, min_count=5, max_vocab=0,
    negative=5, sample=1e-3, epochs=5, alpha=0.025, min_alpha=1e-4,
    arch="skipgram" or "cbow", threads=1, seed=1, progress=None,
    **clean_options)``. progress(epoch, fraction_done, words_per_sec, alpha,
    loss) is called about every million words; a true result stops training
    (CancelledError). Ctrl-C (main thread) stops it too, with
    KeyboardInterrupt. threads=1 gives the same vectors bit for bit from the
    same seed.
    """

    _free_fn, _counter, _what = "bgm_word2vec_free", "word2vec", "Word2Vec"

    def __init__(self, docs, vector_size=100, window=5, min_count=5, max_vocab=0,
                 negative=5, sample=1e-3, epochs=5, alpha=0.025, min_alpha=1e-4,
                 arch="skipgram", threads=1, seed=1, progress=None, **clean_options):
        d = _Docs(docs)
        self._clean = _clean_options(clean_options)
        if arch not in _ARCHS:
            raise InvalidArgumentError("arch must be 'skipgram' or 'cbow', got %r" % (arch,))
        opts = _lib.Word2VecOptions()
        lib.bgm_word2vec_options_init(ctypes.byref(opts))
        opts.arch, opts.vector_size, opts.window = _ARCHS[arch], int(vector_size), int(window)
        opts.min_count, opts.max_vocab = int(min_count), int(max_vocab or 0)
        opts.negative, opts.sample, opts.epochs = int(negative), float(sample), int(epochs)
        opts.alpha, opts.min_alpha = float(alpha), float(min_alpha)
        opts.threads, opts.seed = int(threads), int(seed)
        opts.clean = ctypes.pointer(self._clean)
        cancel, error = ctypes.c_int(0), []

        def report(ctx, epoch, done, rate, lr, loss):
            if cancel.value:
                return 1
            try:
                return 1 if progress is not None and progress(epoch, done, rate, lr,
                                                              loss) else 0
            except BaseException as exc:  # re-raised below, never through C
                error.append(exc)
                return 1

        opts.progress = _lib.W2V_PROGRESS_FN(report)
        out = ctypes.c_void_p()
        failure = None
        with CancelOnSigint(cancel) as sigint:
            try:
                lib.bgm_word2vec_train(ctypes.byref(out), d.ptrs, d.lens, d.n,
                                       ctypes.byref(opts))
            except BigmodelError as exc:
                failure = exc
        if error:
            raise error[0]
        if sigint.hit or cancel.value:
            if out.value:
                lib.bgm_word2vec_free(out.value)
            raise KeyboardInterrupt("word2vec training interrupted")
        if failure is not None:
            raise failure
        self._take(out.value)

    @classmethod
    def load(cls, path, **clean_options):
        """Vectors in the word2vec text format (this library's save, the original
        tool's -binary 0, gensim's save_word2vec_format)."""
        out = ctypes.c_void_p()
        lib.bgm_word2vec_load(ctypes.byref(out), os.fsencode(path))
        m = cls.__new__(cls)
        m._clean = _clean_options(clean_options)
        m._take(out.value)
        return m

    def save(self, path):
        """Writes the word2vec text format (atomically)."""
        lib.bgm_word2vec_save(self._h, os.fsencode(path))

    # -- words and vectors --

    def __len__(self):
        return lib.bgm_word2vec_vocab_size(self._h)

    @property
    def vector_size(self):
        return lib.bgm_word2vec_dim(self._h)

    @property
    def words(self):
        """Every word, most frequent first (file order when loaded)."""
        h = self._h
        return [_decode(lib.bgm_word2vec_word(h, i)) for i in range(len(self))]

    def index(self, word):
        """Number of word, or -1."""
        return lib.bgm_word2vec_index(self._h, _bytes(word, "word"))

    def __contains__(self, word):
        return self.index(word) >= 0

    def vector(self, word):
        """The vector of word (RangeError when unknown)."""
        out = ctypes.c_void_p()
        lib.bgm_word2vec_vector(ctypes.byref(out), self._h, _bytes(word, "word"))
        return _result(out.value)

    __getitem__ = vector

    def most_similar(self, word, topn=10):
        """[(word, cosine), ...] of the topn nearest words, best first."""
        k = int(topn)
        if k < 1:
            raise InvalidArgumentError("topn = %d, expected at least 1" % k)
        words, scores = (ctypes.c_char_p * k)(), (ctypes.c_float * k)()
        found = ctypes.c_int()
        lib.bgm_word2vec_most_similar(words, scores, ctypes.byref(found), self._h,
                                      _bytes(word, "word"), k)
        return [(_decode(words[i]), scores[i]) for i in range(found.value)]

    def document_vectors(self, docs):
        """(ndocs, vector_size): each row the mean vector of a document's known words."""
        d = _Docs(docs)
        out = ctypes.c_void_p()
        lib.bgm_word2vec_document_vectors(ctypes.byref(out), self._h, d.ptrs, d.lens, d.n,
                                          ctypes.byref(self._clean))
        return _result(out.value)

    def embedding_matrix(self, vocabulary):
        """(len(vocabulary), vector_size) rows for an embedding table (zeros for the
        reserved ids and unknown tokens)."""
        out = ctypes.c_void_p()
        lib.bgm_word2vec_embedding_matrix(ctypes.byref(out), self._h, vocabulary._h)
        return _result(out.value)

    def __repr__(self):
        if self._ptr is None:
            return "<Word2Vec closed>"
        return "<Word2Vec of %d words, %d dimensions>" % (len(self), self.vector_size)

