#!/usr/bin/env bash
# `terraform init -backend=false`, `terraform validate` and `terraform test` on terraform/.
#
# Providers: the real ones from the registry on a connected machine; here, where the registry
# is unreachable, the schema-only stand-ins of ../shared/tools/terraform-offline (the same
# hashicorp/aws 5.100.0 and random 3.7.2 schemas; terraform test runs on mock_provider either
# way). TF_PROVIDERS=registry|offline overrides the choice (default: offline when the stand-ins
# exist). Nothing lands in git: TF_DATA_DIR is build/terraform/data, and the lock file
# terraform/.terraform.lock.hcl is git-ignored (the stand-ins' hashes are not the real ones).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build/terraform
OFFLINE_TOOLS=${TERRAFORM_OFFLINE_TOOLS:-$ROOT/../shared/tools/terraform-offline}
export TF_DATA_DIR=$BUILD/data TF_IN_AUTOMATION=1 TF_INPUT=0
say() { printf 'tf-check: %s\n' "$*"; }

if ! command -v terraform >/dev/null 2>&1; then
  say "terraform is not on PATH: install Terraform >= 1.7 (terraform test with mock_provider)" >&2
  exit 1
fi
version=$(terraform version -json 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])')
if ! python3 -c 'import sys; sys.exit(tuple(map(int, sys.argv[1].split("-")[0].split(".")[:2])) < (1, 7))' "$version"; then
  say "Terraform $version is too old: mock_provider in terraform test needs >= 1.7" >&2
  exit 1
fi

mode=${TF_PROVIDERS:-auto}
if [ "$mode" = auto ]; then
  if [ -x "$OFFLINE_TOOLS/setup.sh" ]; then mode=offline; else mode=registry; fi
fi
init_flags=(-backend=false -input=false -no-color)
case "$mode" in
  offline)
    # A work folder of our own: the schema gets one correction (below) that must not leak
    # into the shared default folder.
    export TERRAFORM_OFFLINE_DIR=${TERRAFORM_OFFLINE_DIR:-$BUILD/offline}
    eval "$("$OFFLINE_TOOLS/setup.sh")"
    # The cdktf bindings cannot tell optional from optional+computed, so the stand-in schema
    # makes every resource's `id` optional only, and a mocked apply then leaves it null
    # (e.g. "integrations/${aws_apigatewayv2_integration.lambda[0].id}" fails). The real
    # provider marks `id` optional+computed on every resource: restore exactly that.
    python3 - "$TERRAFORM_OFFLINE_DIR"/aws.json "$TERRAFORM_OFFLINE_DIR"/random.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    with open(path) as handle:
        schema = json.load(handle)
    changed = 0
    for kind in ("resource_schemas", "data_source_schemas"):
        for body in schema[kind].values():
            attribute = body["block"]["attributes"].get("id")
            if attribute is not None and attribute.get("optional") and not attribute.get("computed"):
                attribute["computed"] = True
                changed += 1
    if changed:
        with open(path, "w") as handle:
            json.dump(schema, handle)
PY
    say "providers: OFFLINE stand-ins from $OFFLINE_TOOLS (hashicorp/aws 5.100.0 and random 3.7.2 schemas only; TF_PROVIDERS=registry for the real ones)"
    # The stand-ins' hashes are not the real providers' and change when their folder moves:
    # a fresh lock file each time (git-ignored; on a connected machine the real one is kept).
    rm -f terraform/.terraform.lock.hcl
    ;;
  registry)
    say "providers: the Terraform registry (real hashicorp/aws and random)"
    ;;
  *)
    say "TF_PROVIDERS must be auto, offline or registry, not '$mode'" >&2
    exit 2
    ;;
esac

mkdir -p "$BUILD"
terraform -chdir=terraform init "${init_flags[@]}" >"$BUILD/init.log" 2>&1 || {
  cat "$BUILD/init.log" >&2
  exit 1
}
say "terraform init -backend=false: ok (Terraform $version)"
terraform -chdir=terraform validate -no-color
terraform -chdir=terraform test -no-color
