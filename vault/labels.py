"""Every context string of the Kluis v1 format, in one place.

Each signed statement, AEAD associated data and derived key starts with its own label, so no
signature, tag or key made for one purpose is ever accepted for another (threat L16). The
labels are ASCII; where one is used as a prefix it is always followed by a 0x00 byte, so no
label is a prefix of another's input. `docs/format.md` lists the same strings; a test checks
that the two lists agree and that every label is distinct.
"""

from __future__ import annotations

from typing import Final

# Subkeys of the Argon2id master key and of the recovery secret (HKDF-SHA256 info).
AUTH_KEY: Final = b"kluis/v1/auth-key"
BUNDLE_KEY: Final = b"kluis/v1/bundle-key"
RECOVERY_AUTH_KEY: Final = b"kluis/v1/recovery-auth-key"
RECOVERY_BUNDLE_KEY: Final = b"kluis/v1/recovery-bundle-key"

# Identity.
IDENTITY_SIGNATURE: Final = b"kluis/v1/identity"
FINGERPRINT: Final = b"kluis/v1/fingerprint"

# Key bundle associated data.
KEY_BUNDLE: Final = b"kluis/v1/key-bundle"

# Subkeys and commitments of a document's file key.
AGE_FILE_KEY: Final = b"kluis/v1/age-file-key"
FILE_KEY_COMMITMENT: Final = b"kluis/v1/file-key-commitment"
METADATA_KEY: Final = b"kluis/v1/metadata-key"
METADATA: Final = b"kluis/v1/metadata"
DOCUMENT_HEADER_SIGNATURE: Final = b"kluis/v1/document-header"

# Subkeys and commitments of a dossier key.
DOSSIER_WRAP_KEY: Final = b"kluis/v1/dossier-wrap-key"
FILE_KEY_WRAP: Final = b"kluis/v1/file-key-wrap"
DOSSIER_KEY_COMMITMENT: Final = b"kluis/v1/dossier-key-commitment"
DOSSIER_METADATA_KEY: Final = b"kluis/v1/dossier-metadata-key"
DOSSIER_METADATA: Final = b"kluis/v1/dossier-metadata"

# Signed statements about sharing and membership.
GRANT_SIGNATURE: Final = b"kluis/v1/grant"
DOSSIER_INDEX_SIGNATURE: Final = b"kluis/v1/dossier-index"

# Organisations: their key chain, memberships and receipts (format section 14).
ORGANISATION_FINGERPRINT: Final = b"kluis/v1/organisation-fingerprint"
ORGANISATION_KEYS_SIGNATURE: Final = b"kluis/v1/organisation-keys"
ORGANISATION_SUCCESSION_SIGNATURE: Final = b"kluis/v1/organisation-key-succession"
MEMBERSHIP_SIGNATURE: Final = b"kluis/v1/organisation-membership"
RECEIPT_SIGNATURE: Final = b"kluis/v1/receipt"

# The key transparency log (section 17).
KT_LABEL: Final = b"kluis/v1/kt-label"
OPERATOR_KEY_SIGNATURE: Final = b"kluis/v1/operator-key"
OPERATOR_VERIFICATION_SIGNATURE: Final = b"kluis/v1/operator-verification"

# Evidence: a document version's commitment in the log (section 20).
EVIDENCE_SALT: Final = b"kluis/v1/evidence-salt"
EVIDENCE_COMMITMENT: Final = b"kluis/v1/evidence-commitment"

# Groups and conversations: epoch keys, archive keys and messages (section 19).
GROUP_EPOCH_KEY: Final = b"kluis/v1/group-epoch-key"
GROUP_ARCHIVE_KEY_SIGNATURE: Final = b"kluis/v1/group-archive-key"
GROUP_MESSAGE_KEY: Final = b"kluis/v1/group-message-key"
GROUP_MESSAGE_BODY: Final = b"kluis/v1/group-message-body"
GROUP_MESSAGE_SIGNATURE: Final = b"kluis/v1/group-message"

# Businesses: an organisation's public profile (section 21).
BUSINESS_PROFILE_SIGNATURE: Final = b"kluis/v1/business-profile"

ALL: Final = (
    AUTH_KEY,
    BUNDLE_KEY,
    RECOVERY_AUTH_KEY,
    RECOVERY_BUNDLE_KEY,
    IDENTITY_SIGNATURE,
    FINGERPRINT,
    KEY_BUNDLE,
    AGE_FILE_KEY,
    FILE_KEY_COMMITMENT,
    METADATA_KEY,
    METADATA,
    DOCUMENT_HEADER_SIGNATURE,
    DOSSIER_WRAP_KEY,
    FILE_KEY_WRAP,
    DOSSIER_KEY_COMMITMENT,
    DOSSIER_METADATA_KEY,
    DOSSIER_METADATA,
    GRANT_SIGNATURE,
    DOSSIER_INDEX_SIGNATURE,
    ORGANISATION_FINGERPRINT,
    ORGANISATION_KEYS_SIGNATURE,
    ORGANISATION_SUCCESSION_SIGNATURE,
    MEMBERSHIP_SIGNATURE,
    RECEIPT_SIGNATURE,
    KT_LABEL,
    OPERATOR_KEY_SIGNATURE,
    OPERATOR_VERIFICATION_SIGNATURE,
    GROUP_EPOCH_KEY,
    GROUP_ARCHIVE_KEY_SIGNATURE,
    GROUP_MESSAGE_KEY,
    GROUP_MESSAGE_BODY,
    GROUP_MESSAGE_SIGNATURE,
    EVIDENCE_SALT,
    EVIDENCE_COMMITMENT,
    BUSINESS_PROFILE_SIGNATURE,
)
