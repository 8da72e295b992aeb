#!/usr/bin/env bash
# Vendor GOV.UK Frontend (CSS, JS, licence), CodeMirror and axe-core into the repository.
#
# Versions are pinned in scripts/frontend/package.json and package-lock.json;
# to change one, edit package.json, run `npm install --package-lock-only` in
# scripts/frontend/, then run this script again:
#
#     bash scripts/vendor-frontend.sh
#
# Outputs (all overwritten on each run; the script is idempotent):
#   static/vendor/govuk-frontend/govuk-frontend.min.css   (compiled from scripts/frontend/jesip-learn.scss)
#   static/vendor/govuk-frontend/govuk-frontend.min.js    (ES module build, plus its .map)
#   static/vendor/govuk-frontend/assets/images/...        (only images the CSS needs that carry no crown/GOV.UK branding)
#   static/vendor/govuk-frontend/LICENSE.txt, VERSION
#   static/vendor/codemirror/codemirror.min.js            (one ES module bundled by esbuild from
#                                                          scripts/frontend/codemirror.js)
#   static/vendor/codemirror/LICENSE.txt, VERSIONS
#   tests/browser/vendor/axe.min.js, AXE_VERSION, axe-core licence files
#   then scripts/fingerprint_static.py: the references between files in static/ (the CSS's
#   url()s, scripts' imports) carry the fingerprint of the file they name
#
# Needs node and npm; reaches only the npm registry (npm ci).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FRONTEND="$ROOT/scripts/frontend"
NODE_MODULES="$FRONTEND/node_modules"
GOVUK_PKG="$NODE_MODULES/govuk-frontend"
GOVUK_DIST="$GOVUK_PKG/dist/govuk"
AXE_PKG="$NODE_MODULES/axe-core"
GOVUK_OUT="$ROOT/static/vendor/govuk-frontend"
AXE_OUT="$ROOT/tests/browser/vendor"
CODEMIRROR_OUT="$ROOT/static/vendor/codemirror"

# Images GOV.UK Frontend ships that show the crown, the Royal Arms or GOV.UK
# branding. Their use is reserved for GOV.UK, so they are never vendored, even
# when the compiled CSS names them (govuk-crest.svg, the Royal Arms, is used
# only by .govuk-footer__copyright-logo, which JESIP Learn must not use).
EXCLUDED_IMAGES_RE='^(govuk-crest\.svg|favicon\..*|govuk-icon-.*|govuk-opengraph-image\..*|.*crown.*)$'

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found on PATH" >&2; exit 1; }
done

wrote() {
  local path="$1"
  printf '  wrote %-60s %9s bytes\n' "${path#"$ROOT"/}" "$(wc -c <"$path" | tr -d ' ')"
}

echo "==> npm ci in scripts/frontend (from package-lock.json)"
# --ignore-scripts: none of the packages needs an install script.
# --omit=optional: sass's optional @parcel/watcher (native, --watch only) is not needed.
(cd "$FRONTEND" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error)

pkg_version() {
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$1/package.json"
}
GOVUK_VERSION="$(pkg_version "$GOVUK_PKG")"
AXE_VERSION="$(pkg_version "$AXE_PKG")"
SASS_VERSION="$(pkg_version "$NODE_MODULES/sass")"
echo "    govuk-frontend $GOVUK_VERSION, axe-core $AXE_VERSION, sass $SASS_VERSION"

# The ES module build carries its own version string: make sure it agrees.
if ! grep -q "const version=\"$GOVUK_VERSION\"" "$GOVUK_DIST/govuk-frontend.min.js"; then
  echo "error: govuk-frontend.min.js does not declare version $GOVUK_VERSION" >&2
  exit 1
fi

# Start from clean output directories so that nothing stale survives.
rm -rf "$GOVUK_OUT" "$CODEMIRROR_OUT"
mkdir -p "$GOVUK_OUT" "$AXE_OUT" "$CODEMIRROR_OUT"

echo "==> Compiling scripts/frontend/jesip-learn.scss"
CSS_OUT="$GOVUK_OUT/govuk-frontend.min.css"
"$NODE_MODULES/.bin/sass" \
  --style=compressed \
  --no-source-map \
  --load-path="$NODE_MODULES" \
  "$FRONTEND/jesip-learn.scss" "$CSS_OUT"

# Sanity checks on the compiled CSS.
if grep -q 'GDS Transport' "$CSS_OUT"; then
  echo "error: compiled CSS still mentions GDS Transport" >&2
  exit 1
fi
if grep -q '@font-face' "$CSS_OUT"; then
  echo "error: compiled CSS contains @font-face rules" >&2
  exit 1
fi
ASSET_PREFIX="/static/vendor/govuk-frontend/assets/"
if grep -o 'url([^)]*)' "$CSS_OUT" | grep -v "url(\"$ASSET_PREFIX" | grep -q .; then
  echo "error: compiled CSS has url()s outside $ASSET_PREFIX:" >&2
  grep -o 'url([^)]*)' "$CSS_OUT" | grep -v "url(\"$ASSET_PREFIX" >&2
  exit 1
fi
wrote "$CSS_OUT"

echo "==> Copying the GOV.UK Frontend ES module"
cp "$GOVUK_DIST/govuk-frontend.min.js" "$GOVUK_DIST/govuk-frontend.min.js.map" "$GOVUK_OUT/"
wrote "$GOVUK_OUT/govuk-frontend.min.js"
wrote "$GOVUK_OUT/govuk-frontend.min.js.map"

echo "==> Copying the images the CSS references (no crown / GOV.UK branding)"
copied_any=0
while IFS= read -r image; do
  [ -n "$image" ] || continue
  if [[ "$image" =~ $EXCLUDED_IMAGES_RE ]]; then
    echo "  skipped $image (crown / GOV.UK branding: not for use outside GOV.UK)"
    continue
  fi
  src="$GOVUK_DIST/assets/images/$image"
  if [ ! -f "$src" ]; then
    echo "error: CSS references images/$image, which govuk-frontend does not ship" >&2
    exit 1
  fi
  mkdir -p "$GOVUK_OUT/assets/images"
  cp "$src" "$GOVUK_OUT/assets/images/$image"
  wrote "$GOVUK_OUT/assets/images/$image"
  copied_any=1
done < <(grep -o "url(\"${ASSET_PREFIX}images/[^\")]*\")" "$CSS_OUT" \
           | sed -e "s#^url(\"${ASSET_PREFIX}images/##" -e 's#")$##' | sort -u)
if grep -q "url(\"${ASSET_PREFIX}fonts/" "$CSS_OUT"; then
  echo "error: compiled CSS references fonts; none are vendored" >&2
  exit 1
fi
[ "$copied_any" = 1 ] || echo "  (no image needed vendoring)"

echo "==> Writing GOV.UK Frontend licence and version"
# The npm package ships no licence file; this is the LICENSE.txt of the
# govuk-frontend repository (MIT).
cat >"$GOVUK_OUT/LICENSE.txt" <<'EOF'
The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF
wrote "$GOVUK_OUT/LICENSE.txt"
printf '%s\n' "$GOVUK_VERSION" >"$GOVUK_OUT/VERSION"
wrote "$GOVUK_OUT/VERSION"

echo "==> Bundling CodeMirror (scripts/frontend/codemirror.js) with esbuild"
# esbuild-wasm: the same bundler as a WebAssembly build, so no platform binary is installed.
# No source map and no legal comments, so the same packages always give the same bytes.
CODEMIRROR_JS="$CODEMIRROR_OUT/codemirror.min.js"
METAFILE="$(mktemp)"
trap 'rm -f "$METAFILE"' EXIT
(cd "$FRONTEND" && node "$NODE_MODULES/esbuild-wasm/bin/esbuild" codemirror.js --bundle \
  --format=esm --minify --target=es2020 --legal-comments=none --log-level=warning \
  --metafile="$METAFILE" --outfile="$CODEMIRROR_JS")
wrote "$CODEMIRROR_JS"
# The packages the bundle holds (not those it read and left out), with their versions and licences (every one is MIT, and
# LICENSE.txt is their shared text).
node -e '
  const fs = require("fs"), path = require("path");
  const [metafile, modules] = process.argv.slice(1);
  const names = new Set();
  for (const output of Object.values(JSON.parse(fs.readFileSync(metafile)).outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
      if (match && bytesInOutput > 0) names.add(match[1]);  // not what was shaken out
    }
  }
  for (const name of [...names].sort()) {
    const p = require(path.join(modules, name, "package.json"));
    if (p.license !== "MIT") { console.error(`${name} is ${p.license}, not MIT`); process.exit(1); }
    console.log(`${p.name} ${p.version} (${p.license})`);
  }' "$METAFILE" "$NODE_MODULES" >"$CODEMIRROR_OUT/VERSIONS"
wrote "$CODEMIRROR_OUT/VERSIONS"
cp "$NODE_MODULES/@codemirror/view/LICENSE" "$CODEMIRROR_OUT/LICENSE.txt"
wrote "$CODEMIRROR_OUT/LICENSE.txt"

echo "==> Copying axe-core"
cp "$AXE_PKG/axe.min.js" "$AXE_OUT/axe.min.js"
wrote "$AXE_OUT/axe.min.js"
cp "$AXE_PKG/LICENSE" "$AXE_OUT/axe-core-LICENSE"
wrote "$AXE_OUT/axe-core-LICENSE"
cp "$AXE_PKG/LICENSE-3RD-PARTY.txt" "$AXE_OUT/axe-core-LICENSE-3RD-PARTY.txt"
wrote "$AXE_OUT/axe-core-LICENSE-3RD-PARTY.txt"
printf '%s\n' "$AXE_VERSION" >"$AXE_OUT/AXE_VERSION"
wrote "$AXE_OUT/AXE_VERSION"

# DejaVu Sans for certificate PDFs: the PDF core fonts cannot print every name.
FONT_PKG="$NODE_MODULES/dejavu-fonts-ttf"
FONT_OUT="$ROOT/jesip_learn/data/fonts"
mkdir -p "$FONT_OUT"
for font in DejaVuSans.ttf DejaVuSans-Bold.ttf; do
  cp "$FONT_PKG/ttf/$font" "$FONT_OUT/$font"
  wrote "$FONT_OUT/$font"
done
cp "$FONT_PKG/LICENSE" "$FONT_OUT/LICENSE-DejaVu"
wrote "$FONT_OUT/LICENSE-DejaVu"

echo "==> Fingerprinting the references between static files (url()s, imports)"
# Each reference gets ?v=<the named file's fingerprint>, so a page's every file may be kept
# for a year; the crest's url()s become none (it is not vendored).
python3 "$ROOT/scripts/fingerprint_static.py"

echo "==> Done: govuk-frontend $GOVUK_VERSION, axe-core $AXE_VERSION, codemirror, dejavu-fonts-ttf"
