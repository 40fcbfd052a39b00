#!/usr/bin/env bash
# What a PHP team does (docs/php.md): a throwaway application requires kpipe/kpipe from a path
# repository with Packagist switched off, installs it offline, and runs code against the
# extension; the stubs land in vendor/ for the IDE. Needs modules/kpipe.so (make -C bindings-php).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ext="$here/modules/kpipe.so"
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cat > "$app/composer.json" <<JSON
{
    "name": "acme/orders-web",
    "require": { "kpipe/kpipe": "*@dev", "ext-kpipe": "*" },
    "repositories": [ { "packagist.org": false }, { "type": "path", "url": "$here", "options": { "symlink": false } } ]
}
JSON
cat > "$app/index.php" <<'PHP'
<?php
require __DIR__ . '/vendor/autoload.php';
$s = new Kpipe\Schema('{"type":"record","name":"Ping","fields":[{"name":"n","type":"long"}]}');
$body = $s->encode(['n' => PHP_INT_MAX]);
echo $s->decode($body)['n'] === PHP_INT_MAX ? "ok\n" : "wrong\n";
PHP
cd "$app"
COMPOSER_DISABLE_NETWORK=1 COMPOSER_HOME="$app/.composer" php -d extension="$ext" /usr/bin/composer install --no-interaction --no-progress 2>&1
test -f vendor/kpipe/kpipe/stubs/kpipe.php
out=$(php -d extension="$ext" index.php)
echo "composer app says: $out"
test "$out" = ok
