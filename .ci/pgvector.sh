#!/usr/bin/env bash
# Makes sure the local Postgres 15 has the pgvector extension available.
# Debian bookworm has no pgvector package for Postgres 15, so we build Debian trixie's source
# package against postgresql-server-dev-15 (recipe: shared/reference/pgvector-on-postgres15.md).
set -euo pipefail
PGHOST=${PGHOST:-127.0.0.1}
if [ "$(psql -h "$PGHOST" -U postgres -tAc "select 1 from pg_available_extensions where name='vector'" 2>/dev/null)" = "1" ]; then
  echo "pgvector: already available"
  exit 0
fi
echo "pgvector: building from Debian's source package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql-server-dev-15 >/dev/null
work=$(mktemp -d)
cat >"$work/trixie-src.sources" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
mkdir -p "$work/lists/partial"
cd "$work"
apt_opts=(-o Dir::Etc::sourcelist="$work/trixie-src.sources" -o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists="$work/lists")
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" source --download-only pgvector
tar xzf pgvector_*.orig.tar.gz
cd pgvector-*/
make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config OPTFLAGS=""
make -s install PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
# the migrations create the extension in each database that needs it
echo "pgvector: installed"
