#!/usr/bin/env bash
# Enforce ARCHITECTURE.md's module layering: every `crate::<module>` a module's
# code names (comments and doc links excluded) must be in its allowed list.
#
#   cli, main, lib, bench      → anything
#   experiment                 → agents plot metrics stats env nn data config util error
#   agents                     → metrics env nn data config util error
#   plot, metrics, stats       → env nn data config util error
#   env, nn, data              → config util error
#   config                     → util error
#   util                       → error
#
# Exits 1 and prints `file:line: <module> uses crate::<other>` for every violation.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [experiment]="agents plot metrics stats env nn data config util error"
  [agents]="metrics env nn data config util error"
  [plot]="env nn data config util error"
  [metrics]="env nn data config util error"
  [stats]="env nn data config util error"
  [env]="config util error"
  [nn]="config util error"
  [data]="config util error"
  [config]="util error"
  [util]="error"
  [error]=""
)

status=0
for module in "${!allowed[@]}"; do
  files=()
  [[ -d "src/$module" ]] && while IFS= read -r f; do files+=("$f"); done < <(find "src/$module" -name '*.rs' | sort)
  [[ -f "src/$module.rs" ]] && files+=("src/$module.rs")
  [[ ${#files[@]} -eq 0 ]] && { echo "check_layering: no source for module \`$module\`" >&2; status=1; continue; }
  ok=" $module ${allowed[$module]} "
  for f in "${files[@]}"; do
    # Code lines only (drop // comments and doc comments), then every crate::<name>,
    # including the names inside a `crate::{a::x, b}` group.
    while IFS=: read -r line used; do
      if [[ "$ok" != *" $used "* ]]; then
        echo "$f:$line: \`$module\` uses crate::$used (allowed: ${allowed[$module]:-nothing})"
        status=1
      fi
    done < <(awk '{ sub(/\/\/.*/, ""); print NR ":" $0 }' "$f" \
      | perl -ne 'my ($n, $t) = /^(\d+):(.*)$/; while ($t =~ /crate::(\{[^}]*\}|[a-z_]+)/g) { my $g = $1; if ($g =~ /^\{/) { $g =~ s/[{}]//g; for my $p (split /,/, $g) { print "$n:$1\n" if $p =~ /^\s*([a-z_]+)/ && $1 ne "self" } } else { print "$n:$g\n" } }')
  done
done
if [[ $status -ne 0 ]]; then
  echo "check_layering: the module dependencies above break ARCHITECTURE.md's layering" >&2
else
  echo "check_layering: ok"
fi
exit $status
