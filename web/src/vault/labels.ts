/** Every label of docs/format.md section 12; each has exactly one use. */

export const AUTH_KEY = "kluis/v1/auth-key";
export const BUNDLE_KEY = "kluis/v1/bundle-key";
export const RECOVERY_AUTH_KEY = "kluis/v1/recovery-auth-key";
export const RECOVERY_BUNDLE_KEY = "kluis/v1/recovery-bundle-key";
export const IDENTITY_SIGNATURE = "kluis/v1/identity";
export const FINGERPRINT = "kluis/v1/fingerprint";
export const KEY_BUNDLE_AD = "kluis/v1/key-bundle";
export const AGE_FILE_KEY = "kluis/v1/age-file-key";
export const FILE_KEY_COMMITMENT = "kluis/v1/file-key-commitment";
export const METADATA_KEY = "kluis/v1/metadata-key";
export const METADATA_AD = "kluis/v1/metadata";
export const DOCUMENT_HEADER_SIGNATURE = "kluis/v1/document-header";
export const DOSSIER_WRAP_KEY = "kluis/v1/dossier-wrap-key";
export const FILE_KEY_WRAP_AD = "kluis/v1/file-key-wrap";
export const DOSSIER_KEY_COMMITMENT = "kluis/v1/dossier-key-commitment";
export const DOSSIER_METADATA_KEY = "kluis/v1/dossier-metadata-key";
export const DOSSIER_METADATA_AD = "kluis/v1/dossier-metadata";
export const GRANT_SIGNATURE = "kluis/v1/grant";
export const DOSSIER_INDEX_SIGNATURE = "kluis/v1/dossier-index";
export const ORGANISATION_FINGERPRINT = "kluis/v1/organisation-fingerprint";
export const ORGANISATION_KEYS_SIGNATURE = "kluis/v1/organisation-keys";
export const ORGANISATION_SUCCESSION_SIGNATURE = "kluis/v1/organisation-key-succession";
export const ORGANISATION_MEMBERSHIP_SIGNATURE = "kluis/v1/organisation-membership";
export const RECEIPT_SIGNATURE = "kluis/v1/receipt";
