"""The signing keys the test Worker is given for upload URLs (UPLOAD_URL_KEYS)."""

UPLOAD_URL_KEYS = (
    "k2:second-upload-url-key-0123456789,k1:first-upload-url-key-0123456789"
)
