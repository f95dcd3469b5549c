"""vault.vrf: ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381's own test vectors, and what a
verifier refuses."""

from __future__ import annotations

import hashlib

import nacl.bindings as sodium
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import vrf
from vault.errors import MalformedError, SignatureError

# RFC 9381 Appendix B.3, examples 16, 17 and 18: SK, PK, alpha, the secret scalar x, the counter
# at which try-and-increment succeeded, H, the nonce k (SHA-512 before reduction), U, V, pi, beta.
RFC_9381_B3 = [
    {
        "sk": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "pk": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "alpha": "",
        "x": "307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f006904de94f",
        "ctr": 0,
        "H": "91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318",
        "k": "7100f3d9eadb6dc4743b029736ff283f5be494128df128df2817106f345b8594"
        "b6d6da2d6fb0b4c0257eb337675d96eab49cf39e66cc2c9547c2bf8b2a6afae4",
        "U": "aef27c725be964c6a9bf4c45ca8e35df258c1878b838f37d9975523f09034071",
        "V": "5016572f71466c646c119443455d6cb9b952f07d060ec8286d678615d55f954f",
        "pi": "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f"
        "26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab12"
        "68a1b0db10836d9826a528ca76567805",
        "beta": "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff"
        "66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
    },
    {
        "sk": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "pk": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "alpha": "72",
        "x": "68bd9ed75882d52815a97585caf4790a7f6c6b3b7f821c5e259a24b02e502e51",
        "ctr": 1,
        "H": "5b659fc3d4e9263fd9a4ed1d022d75eaacc20df5e09f9ea937502396598dc551",
        "k": "42589bbf0c485c3c91c1621bb4bfe04aed7be76ee48f9b00793b2342acb9c167"
        "cab856f9f9d4febc311330c20b0a8afd3743d05433e8be8d32522ecdc16cc5ce",
        "U": "1dcb0a4821a2c48bf53548228b7f170962988f6d12f5439f31987ef41f034ab3",
        "V": "fd03c0bf498c752161bae4719105a074630a2aa5f200ff7b3995f7bfb1513423",
        "pi": "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593"
        "3bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926d"
        "a3ef39226bbc355bdc9850112c8f4b02",
        "beta": "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb"
        "5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
    },
    {
        "sk": "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "pk": "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "alpha": "af82",
        "x": "909a8b755ed902849023a55b15c23d11ba4d7f4ec5c2f51b1325a181991ea95c",
        "ctr": 0,
        "H": "bf4339376f5542811de615e3313d2b36f6f53c0acfebb482159711201192576a",
        "k": "38b868c335ccda94a088428cbf3ec8bc7955bfaffe1f3bd2aa2c59fc31a0febc"
        "59d0e1af3715773ce11b3bbdd7aba8e3505d4b9de6f7e4a96e67e0d6bb6d6c3a",
        "U": "2bae73e15a64042fcebf062abe7e432b2eca6744f3e8265bc38e009cd577ecd5",
        "V": "88cba1cb0d4f9b649d9a86026b69de076724a93a65c349c988954f0961c5d506",
        "pi": "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80"
        "96bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a"
        "2d41b00b05081ed0f58ee5e31b3a970e",
        "beta": "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45"
        "2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
    },
]
IDS = ["example16", "example17", "example18"]
T8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")  # order 8
B = sodium.crypto_scalarmult_ed25519_base_noclamp((1).to_bytes(32, "little"))


def h(v: dict[str, object], key: str) -> bytes:
    return bytes.fromhex(str(v[key]))


@pytest.mark.parametrize("v", RFC_9381_B3, ids=IDS)
def test_the_rfc_vectors_step_by_step(v: dict[str, object]) -> None:
    sk, pk, alpha = h(v, "sk"), h(v, "pk"), h(v, "alpha")
    x, digest = vrf._secret_scalar(sk)
    assert x == h(v, "x") and vrf.public_key(sk) == pk
    assert pk == bytes(nacl.signing.SigningKey(sk).verify_key)  # Y is the Ed25519 public key
    H = vrf._encode_to_curve(pk, alpha)
    assert h(v, "H") == H
    k_string = hashlib.sha512(digest[32:] + H).digest()
    assert k_string == h(v, "k")
    k = vrf._nonce(digest, H)
    assert sodium.crypto_scalarmult_ed25519_base_noclamp(k) == h(v, "U")
    assert sodium.crypto_scalarmult_ed25519_noclamp(k, H) == h(v, "V")


@pytest.mark.parametrize("v", RFC_9381_B3, ids=IDS)
def test_the_rfc_vectors_prove_verify_and_hash(v: dict[str, object]) -> None:
    sk, pk, alpha, pi = h(v, "sk"), h(v, "pk"), h(v, "alpha"), h(v, "pi")
    assert vrf.prove(sk, alpha) == pi
    assert vrf.verify(pk, alpha, pi) == h(v, "beta") == vrf.proof_to_hash(pi)


def test_try_and_increment_moves_on_when_a_hash_is_not_a_point() -> None:
    v = RFC_9381_B3[1]  # ctr 0 fails for example 17
    first = hashlib.sha512(b"\x03\x01" + h(v, "pk") + h(v, "alpha") + b"\x00\x00").digest()[:32]
    assert vrf._decode_point(first) is None


# -- what verify refuses ---------------------------------------------------------------------------
V16 = RFC_9381_B3[0]
PK, ALPHA, PI = h(V16, "pk"), h(V16, "alpha"), h(V16, "pi")


def flip(data: bytes, bit: int) -> bytes:
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << (bit % 8))]) + data[bit // 8 + 1 :]


@pytest.mark.parametrize("bit", range(0, 640, 7))
def test_any_flipped_bit_of_a_proof_is_refused(bit: int) -> None:
    with pytest.raises((SignatureError, MalformedError)):
        vrf.verify(PK, ALPHA, flip(PI, bit))


def test_another_input_or_key_is_refused() -> None:
    with pytest.raises(SignatureError):
        vrf.verify(PK, b"\x00", PI)
    with pytest.raises(SignatureError):
        vrf.verify(h(RFC_9381_B3[1], "pk"), ALPHA, PI)


def test_a_proof_for_one_input_does_not_prove_another_with_the_same_output() -> None:
    other = vrf.prove(h(V16, "sk"), b"other")
    assert vrf.proof_to_hash(other) != vrf.proof_to_hash(PI)
    with pytest.raises(SignatureError):
        vrf.verify(PK, b"other", PI)


def test_an_unreduced_s_is_refused() -> None:
    s = int.from_bytes(PI[48:], "little") + vrf.Q
    assert s < 2**256
    with pytest.raises(MalformedError):
        vrf.verify(PK, ALPHA, PI[:48] + s.to_bytes(32, "little"))


def test_a_gamma_with_a_small_order_component_is_refused_though_its_output_is_the_same() -> None:
    gamma = sodium.crypto_core_ed25519_add(PI[:32], T8)
    mauled = gamma + PI[32:]
    assert vrf.proof_to_hash(mauled) == vrf.proof_to_hash(PI)  # 8 * (Gamma + T) = 8 * Gamma
    with pytest.raises(SignatureError):
        vrf.verify(PK, ALPHA, mauled)


@pytest.mark.parametrize(
    "gamma",
    [
        ((1 << 255) - 19).to_bytes(32, "little"),  # y = p: not canonical
        ((1 << 255) - 18).to_bytes(32, "little"),  # y = p + 1, an alias of y = 1
        bytes([1] + [0] * 30 + [0x80]),  # y = 1 with the sign bit: x = 0 has no negative
        ((1 << 255) - 20 | 1 << 255).to_bytes(32, "little"),  # y = p - 1 with the sign bit
        bytes([2] + [0] * 31),  # y = 2: no x on the curve
    ],
)
def test_gammas_that_do_not_decode_are_malformed(gamma: bytes) -> None:
    assert vrf._decode_point(gamma) is None
    with pytest.raises(MalformedError):
        vrf.verify(PK, ALPHA, gamma + PI[32:])
    with pytest.raises(MalformedError):
        vrf.proof_to_hash(gamma + PI[32:])


@pytest.mark.parametrize(
    "public",
    [
        bytes([1] + [0] * 31),  # the identity
        T8,  # order 8
        bytes.fromhex(
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
        ),  # order 2
        bytes([2] + [0] * 31),  # not a point
        PK[:31],
        ((1 << 255) - 19).to_bytes(32, "little"),
    ],
)
def test_public_keys_of_small_order_or_not_points_are_refused(public: bytes) -> None:
    with pytest.raises(MalformedError):
        vrf.verify(public, ALPHA, PI)


def test_a_public_key_with_a_small_order_component_is_checked_by_the_rfc_rules() -> None:
    # validate_key accepts it (8 * Y is not the identity); the proof of the real key then fails
    y = sodium.crypto_core_ed25519_add(PK, T8)
    with pytest.raises(SignatureError):
        vrf.verify(y, ALPHA, PI)


@pytest.mark.parametrize("pi", [PI[:79], PI + b"\x00", b""])
def test_proofs_of_the_wrong_length_are_malformed(pi: bytes) -> None:
    with pytest.raises(MalformedError):
        vrf.verify(PK, ALPHA, pi)


def test_a_secret_key_is_32_bytes() -> None:
    with pytest.raises(ValueError):
        vrf.prove(b"\x00" * 31, ALPHA)


def test_double_and_add_agrees_with_libsodium() -> None:
    for k in (1, 2, 3, 255, 2**128 - 1, vrf.Q - 1):
        assert vrf._double_and_add(k, B) == sodium.crypto_scalarmult_ed25519_base_noclamp(
            k.to_bytes(32, "little")
        )
    assert vrf._double_and_add(vrf.Q, B) == vrf.IDENTITY
    assert vrf._double_and_add(8, sodium.crypto_core_ed25519_add(B, T8)) == vrf._double_and_add(
        8, B
    )
    assert vrf._double_and_add(8, T8) == vrf.IDENTITY


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=100))
def test_prove_then_verify(secret: bytes, alpha: bytes) -> None:
    pi = vrf.prove(secret, alpha)
    assert vrf.verify(vrf.public_key(secret), alpha, pi) == vrf.proof_to_hash(pi)
