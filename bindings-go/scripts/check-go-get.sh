#!/usr/bin/env bash
# The README's "use it from another module" path, checked end to end: a copy of this module
# without lib/ (as `go get` puts it in the module cache), a built libkpipe_capi.a somewhere
# else, and a fresh module outside the repo that requires it (a `replace` stands in for the
# proxy) and builds with CGO_LDFLAGS=-L<that dir>, as README.md says. Prints "go-get path ok".
#   scripts/check-go-get.sh [LIB_DIR]   (default: bindings-go/lib, built by `make -C bindings-go`)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
libdir="${1:-$here/lib}"
[ -f "$libdir/libkpipe_capi.a" ] || { echo "no $libdir/libkpipe_capi.a: run make -C bindings-go" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# the module as the module cache holds it: sources and header, no lib/
mkdir -p "$tmp/cache/kpipe" "$tmp/prebuilt"
cp "$here/go.mod" "$here/go.sum" "$here"/*.go "$tmp/cache/kpipe/"
rm -f "$tmp/cache/kpipe/"*_test.go
cp -r "$here/include" "$tmp/cache/kpipe/"
cp "$libdir/libkpipe_capi.a" "$tmp/prebuilt/"
mkdir -p "$tmp/app"
cat > "$tmp/app/go.mod" <<MOD
module example.com/app

go 1.22

require github.com/kpipe-dev/kpipe/bindings-go v0.1.0

replace github.com/kpipe-dev/kpipe/bindings-go => ../cache/kpipe
MOD
# the module's dependency checksums (github.com/goccy/go-json), as `go get` records them
cp "$here/go.sum" "$tmp/app/go.sum"
cat > "$tmp/app/main.go" <<'GO'
package main

import (
	"fmt"
	"os"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

func main() {
	body, err := kpipe.EncodeAvro(`{"type":"record","name":"R","fields":[{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}}]}`,
		map[string]any{"price": kpipe.Decimal("12.3")})
	if err != nil {
		fmt.Println("encode:", err)
		os.Exit(1)
	}
	out, err := kpipe.DecodeAvro(`{"type":"record","name":"R","fields":[{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}}]}`, body)
	if err != nil || string(out) != `{"price":"12.30"}` {
		fmt.Println("decode:", string(out), err)
		os.Exit(1)
	}
	fmt.Println("kpipe", kpipe.Version(), string(out))
}
GO
cd "$tmp/app"
export GOFLAGS=-mod=mod
# without the library path the link must fail (so the documented flag is what makes it work)
if CGO_LDFLAGS="" go build -o app . >"$tmp/nolib.log" 2>&1; then
  echo "building without CGO_LDFLAGS unexpectedly succeeded" >&2; exit 1
fi
CGO_LDFLAGS="-L$tmp/prebuilt" go build -o app .
./app
echo "go-get path ok"
