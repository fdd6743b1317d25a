"""CLIP text encoder and vocabularies (ov3d.h section "Text").

    from ov3d.text import TextEncoder, Vocabulary
    with TextEncoder("ViT-B-32.pt", "bpe_simple_vocab_16e6.txt.gz") as enc:
        emb = enc.encode(["chair", "table"], template="a {} in a scene")   # float32 [2, 512]
        voc = enc.vocabulary(["wall", "floor", "chair"], template="a {} in a scene")
        voc = enc.label_set("scannet20", template="a {} in a scene")      # OpenScene's prompts
    labels, scores = voc.classify(features)                               # features: float32 [N, 512]
    voc2 = Vocabulary.from_embeddings(my_embeddings, names=["a", "b"])     # host's own text model
"""
import ctypes

import numpy as np

from ._lib import OwnedHandle, InvalidArgumentError, as_array, check, lib, ptr, signature

_P = ctypes.c_void_p
_SZ = ctypes.c_size_t
_I32 = ctypes.c_int32


class EncoderParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("heads", _I32), ("activation", _I32)]


class EncodeParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_threads", _I32), ("normalize", _I32), ("round_fp16", _I32),
                ("prompt_template", ctypes.c_char_p), ("use_cache", _I32)]


ACTIVATION_AUTO, ACTIVATION_QUICK_GELU, ACTIVATION_GELU = 0, 1, 2

signature("ov3d_text_encoder_default_params", EncoderParams, [])
signature("ov3d_text_encode_default_params", EncodeParams, [])
signature("ov3d_text_encoder_load", _I32, [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(EncoderParams), ctypes.POINTER(_P)])
signature("ov3d_text_encoder_free", None, [_P])
signature("ov3d_text_encoder_dim", _I32, [_P, ctypes.POINTER(_SZ)])
signature("ov3d_text_tokenize", _I32, [_P, ctypes.c_char_p, ctypes.POINTER(_I32), _SZ])
signature("ov3d_text_encode", _I32, [_P, ctypes.POINTER(ctypes.c_char_p), _SZ, ctypes.POINTER(EncodeParams), ctypes.POINTER(ctypes.c_float), _SZ])
signature("ov3d_vocabulary_from_texts", _I32, [_P, ctypes.POINTER(ctypes.c_char_p), _SZ, ctypes.POINTER(EncodeParams), ctypes.POINTER(_P)])
signature("ov3d_vocabulary_from_label_set", _I32, [_P, ctypes.c_char_p, ctypes.POINTER(EncodeParams), ctypes.POINTER(_P)])
signature("ov3d_label_set_class_of", _I32, [ctypes.c_char_p, _SZ, ctypes.POINTER(_I32)])
signature("ov3d_vocabulary_from_embeddings", _I32, [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_float), _SZ, _SZ, ctypes.POINTER(_P)])
signature("ov3d_vocabulary_free", None, [_P])
signature("ov3d_vocabulary_count", _I32, [_P, ctypes.POINTER(_SZ)])
signature("ov3d_vocabulary_dim", _I32, [_P, ctypes.POINTER(_SZ)])
signature("ov3d_vocabulary_name", _I32, [_P, _SZ, ctypes.POINTER(ctypes.c_char_p)])
signature("ov3d_vocabulary_embeddings", _I32, [_P, ctypes.POINTER(ctypes.c_float), _SZ])
signature("ov3d_vocabulary_scores", _I32, [_P, ctypes.POINTER(ctypes.c_float), _SZ, _SZ, _I32, ctypes.POINTER(ctypes.c_float), _SZ])
signature("ov3d_vocabulary_classify", _I32, [_P, ctypes.POINTER(ctypes.c_float), _SZ, _SZ, _I32, ctypes.POINTER(_I32), ctypes.POINTER(ctypes.c_float)])
signature("ov3d_vocabulary_heatmap", _I32, [_P, _SZ, ctypes.POINTER(ctypes.c_float), _SZ, _SZ, ctypes.POINTER(ctypes.c_float), _SZ])


def _cstrings(texts, name):
    if isinstance(texts, str):
        raise InvalidArgumentError(f"{name} must be a list of strings, not one string")
    enc = [t.encode("utf-8") if isinstance(t, str) else None for t in texts]
    if any(e is None for e in enc):
        raise InvalidArgumentError(f"{name} must hold only str")
    return (ctypes.c_char_p * len(enc))(*enc), len(enc)


def _encode_params(template, normalize=True, round_fp16=False, n_threads=0, use_cache=True):
    p = lib().ov3d_text_encode_default_params()
    p.n_threads = int(n_threads)
    p.normalize = 1 if normalize else 0
    p.round_fp16 = 1 if round_fp16 else 0
    p.prompt_template = template.encode("utf-8") if template is not None else None
    p.use_cache = 1 if use_cache else 0
    return p


class TextEncoder(OwnedHandle):
    """A CLIP text encoder (thread-safe, immutable). `weights`: open_clip .pt/.safetensors, a Hugging
    Face CLIPTextModelWithProjection folder/model.safetensors, or ov3d safetensors."""

    _free = "ov3d_text_encoder_free"

    def __init__(self, weights, vocab, heads=0, activation=ACTIVATION_AUTO):
        p = lib().ov3d_text_encoder_default_params()
        p.heads = int(heads)
        p.activation = int(activation)
        h = _P()
        check(lib().ov3d_text_encoder_load(str(weights).encode(), str(vocab).encode(), ctypes.byref(p), ctypes.byref(h)))
        self._h = h
        d = _SZ()
        check(lib().ov3d_text_encoder_dim(self._h, ctypes.byref(d)))
        self.dim = d.value

    def tokenize(self, text):
        """The 77 CLIP token ids of `text` (numpy int32)."""
        out = np.zeros(77, dtype=np.int32)
        check(lib().ov3d_text_tokenize(self._h, text.encode("utf-8"), ptr(out, _I32), out.size))
        return out

    def encode(self, texts, template=None, normalize=True, round_fp16=False, n_threads=0, use_cache=True):
        """float32 [len(texts), dim] embeddings of the texts as given (`template`, e.g.
        "a {} in a scene", applies a prompt; `vocabulary` and `label_set` use OpenScene's by default)."""
        arr, n = _cstrings(texts, "texts")
        out = np.zeros((n, self.dim), dtype=np.float32)
        p = _encode_params(template, normalize, round_fp16, n_threads, use_cache)
        check(lib().ov3d_text_encode(self._h, arr, n, ctypes.byref(p), ptr(out, ctypes.c_float), out.size))
        return out

    def vocabulary(self, names, template="a {} in a scene", round_fp16=False, n_threads=0):
        """A vocabulary of `names`, each encoded through `template` (default OpenScene's prompt
        "a {} in a scene"; None = the bare names). Embeddings are unit length."""
        arr, n = _cstrings(names, "names")
        p = _encode_params(template, True, round_fp16, n_threads)
        h = _P()
        check(lib().ov3d_vocabulary_from_texts(self._h, arr, n, ctypes.byref(p), ctypes.byref(h)))
        return Vocabulary(h)

    def label_set(self, name, template="a {} in a scene", round_fp16=False, n_threads=0):
        """A built-in label set encoded with OpenScene's prompt rules."""
        p = _encode_params(template, True, round_fp16, n_threads)
        h = _P()
        check(lib().ov3d_vocabulary_from_label_set(self._h, name.encode(), ctypes.byref(p), ctypes.byref(h)))
        return Vocabulary(h)


def label_set_class_of(name, index):
    c = _I32()
    check(lib().ov3d_label_set_class_of(name.encode(), int(index), ctypes.byref(c)))
    return c.value


class Vocabulary(OwnedHandle):
    """Names + unit-length embeddings; scores features by cosine similarity. Thread-safe."""

    _free = "ov3d_vocabulary_free"

    def __init__(self, handle):
        self._h = handle
        c, d = _SZ(), _SZ()
        check(lib().ov3d_vocabulary_count(self._h, ctypes.byref(c)))
        check(lib().ov3d_vocabulary_dim(self._h, ctypes.byref(d)))
        self.count, self.dim = c.value, d.value

    @classmethod
    def from_embeddings(cls, embeddings, names=None):
        e = as_array(embeddings, np.float32, "embeddings", ndim=2)
        arr = None
        if names is not None:
            arr, n = _cstrings(names, "names")
            if n != e.shape[0]:
                raise InvalidArgumentError(f"{n} names for {e.shape[0]} embeddings")
        h = _P()
        check(lib().ov3d_vocabulary_from_embeddings(arr, ptr(e, ctypes.c_float), e.shape[0], e.shape[1], ctypes.byref(h)))
        return cls(h)

    def __len__(self):
        return self.count

    @property
    def names(self):
        out = []
        for i in range(self.count):
            s = ctypes.c_char_p()
            check(lib().ov3d_vocabulary_name(self._h, i, ctypes.byref(s)))
            out.append(s.value.decode("utf-8"))
        return out

    @property
    def embeddings(self):
        out = np.zeros((self.count, self.dim), dtype=np.float32)
        check(lib().ov3d_vocabulary_embeddings(self._h, ptr(out, ctypes.c_float), out.size))
        return out

    def _features(self, features):
        return as_array(features, np.float32, "features", ndim=2, shape_tail=(self.dim,))

    def scores(self, features, n_threads=0):
        f = self._features(features)
        out = np.zeros((f.shape[0], self.count), dtype=np.float32)
        check(lib().ov3d_vocabulary_scores(self._h, ptr(f, ctypes.c_float), f.shape[0], self.dim, int(n_threads),
                                           ptr(out, ctypes.c_float), out.size))
        return out

    def classify(self, features, n_threads=0):
        """(labels int32 [N], scores float32 [N])."""
        f = self._features(features)
        labels = np.zeros(f.shape[0], dtype=np.int32)
        scores = np.zeros(f.shape[0], dtype=np.float32)
        check(lib().ov3d_vocabulary_classify(self._h, ptr(f, ctypes.c_float), f.shape[0], self.dim, int(n_threads),
                                             ptr(labels, _I32), ptr(scores, ctypes.c_float)))
        return labels, scores

    def heatmap(self, query, features):
        """Cosine similarity of every point with word `query` (index or name)."""
        if isinstance(query, str):
            query = self.names.index(query)
        f = self._features(features)
        out = np.zeros(f.shape[0], dtype=np.float32)
        check(lib().ov3d_vocabulary_heatmap(self._h, int(query), ptr(f, ctypes.c_float), f.shape[0], self.dim,
                                            ptr(out, ctypes.c_float), out.size))
        return out
