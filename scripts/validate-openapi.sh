#!/usr/bin/env bash
# Validates every OpenAPI document payhub serves with openapi-spec-validator
# (PyPI; `pip install openapi-spec-validator`), which checks them against the
# OpenAPI 3.1 schema. The Rust tests (tests/api/openapi.rs) check the rest:
# routes against documents, $refs, the official TMF676 swagger.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${CARGO_TARGET_DIR:-target}/openapi"
cargo run --locked --quiet -p payhub_server --example dump_openapi -- "$dir" >/dev/null
status=0
for document in "$dir"/*.json; do
    python3 -m openapi_spec_validator "$document" || status=1
done
exit $status
