"""Fixed identities of the offline world's Globus endpoints.

Both are ordinary UUIDs: the code that talks to the loopback Globus service is the
code that talks to the real one; only these ids, the base URL and the credentials
differ.
"""

DKIST_ENDPOINT_ID = "8e5f7e3c-5b1f-4c39-9a37-0d1f2a6c9b11"
DKIST_ENDPOINT_NAME = "DKIST Data Transfer (sandbox)"

LOCAL_ENDPOINT_ID = "2f4c1d5e-7a3b-4e8f-b1c2-6d9e0a1b3c44"
LOCAL_ENDPOINT_NAME = "My laptop (sandbox Globus Connect Personal)"

DKIST_BUCKET = "data"
