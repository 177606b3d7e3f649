
use builtin;
use str;

set edit:completion:arg-completer[tokman] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'tokman'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'tokman'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create a store'
            cand generate 'Issue a token for a user (shown once)'
            cand list 'List tokens (never a secret)'
            cand inspect 'Show every field of one token, by id or from the token on stdin'
            cand revoke 'Revoke tokens now, irreversibly'
            cand update 'Change a live token''s settings, keeping its secret'
            cand rotate 'Replace a token: retire it and issue its successor with the same settings'
            cand verify 'Check a token; the exit code says whether it is valid'
            cand purge 'Delete expired tokens (and revoked ones with --revoked)'
            cand remind 'Record and print a reminder for each token about to expire (for cron)'
            cand audit 'Show the audit log, or check that it is intact'
            cand settings 'Show the store''s settings, or change them with `settings set`'
            cand info 'Show what and where the store is, with counts'
            cand backup 'Write a consistent SQLite copy of the store, taken while it is in use'
            cand copy 'Copy the whole store into a new store, SQLite or PostgreSQL'
            cand scan 'Find tokens in files, directories, stdin or staged changes; say whose and whether live'
            cand serve 'Answer auth requests over HTTP, for reverse proxies and services'
            cand key 'Manage the ways to unlock the store'
            cand version 'Print tokman''s version (as `tokman --version` does)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tokman;init'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --prefix 'Token prefix: a lower-case letter, then up to 15 lower-case letters or digits'
            cand --max-lifetime 'Maximum (and default) token lifetime; at most 180d'
            cand --default-rate-limit 'Rate limit for tokens generated without --rate-limit or --no-rate-limit (repeatable)'
            cand --new-key-file 'Create a new key file (mode 0600) and unlock the store with it instead of a passphrase'
            cand --notify-command 'Run this with `sh -c` after every change (tokens, settings, keys, purge, reminders), the event as JSON on stdin'
            cand --audit-retention 'How long the audit log keeps events before `purge` drops them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;generate'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --name 'A short name for the token'
            cand --description 'What the token is for'
            cand --scope 'Grant a scope, like posts:read or posts:* (repeatable)'
            cand --expires-in 'Expire sooner than the store''s maximum lifetime (90s, 15m, 12h, 30d, 2w)'
            cand --rate-limit 'Limit uses, like 60/min or 10000/day; units s, m/min, h, d/day, w/week (repeatable)'
            cand --allow-ip 'Accept the token only from this address or CIDR (repeatable)'
            cand --allow-origin 'Accept the token only from this origin, scheme://host[:port] (repeatable)'
            cand --max-uses 'Accept at most N valid verifies in the token''s life (1: a one-time token)'
            cand --no-rate-limit 'No rate limit, even if the store has default limits'
            cand --json 'Print the token record plus "token" as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;list'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --user 'Only this user''s tokens'
            cand --status 'Only tokens with this status'
            cand --expiring-within 'Only active tokens that expire within this time'
            cand --unused-for 'Only tokens never used, or last used longer ago than this'
            cand --sort 'The order to show them in; ties go by creation time, then id'
            cand --limit 'Show only the first N tokens, in the --sort order'
            cand --json 'Print an array of token records as JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;inspect'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --json 'Print the token record as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;revoke'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --user 'Revoke this user''s active token'
            cand --reason 'Why, for the record'
            cand -y 'Do not ask to confirm (required without a terminal)'
            cand --yes 'Do not ask to confirm (required without a terminal)'
            cand --json 'Print the revoked token''s record as JSON (an array of records for several ids)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;update'= {
            cand --user 'Change this user''s active token'
            cand --expires-in 'Expire this long from now; only ever sooner than the token''s expiry'
            cand --name 'A new short name for the token'
            cand --description 'A new description'
            cand --scope 'Replace the scopes with these (repeatable)'
            cand --add-scope 'Add a scope (repeatable)'
            cand --remove-scope 'Remove a scope the token has (repeatable)'
            cand --rate-limit 'Replace the rate limits, like 60/min or 10000/day (repeatable)'
            cand --allow-ip 'Replace the IP allow-list with these addresses or CIDRs (repeatable)'
            cand --allow-origin 'Replace the origin allow-list with these origins (repeatable)'
            cand --max-uses 'Accept at most N valid verifies in the token''s life, counting those so far'
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --no-rate-limit 'Remove every rate limit'
            cand --clear-allow-ip 'Remove the IP allow-list: any address may use the token'
            cand --clear-allow-origin 'Remove the origin allow-list: any origin may use the token'
            cand -y 'Do not ask to confirm a change that widens access (required for one without a terminal)'
            cand --yes 'Do not ask to confirm a change that widens access (required for one without a terminal)'
            cand --json 'Print the changed token''s record as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;rotate'= {
            cand --user 'Rotate this user''s active token'
            cand --expires-in 'Lifetime of the successor (default: the original''s, within the store''s maximum)'
            cand --grace 'Keep the old token valid this much longer (at most 24h and its remaining life)'
            cand --name 'A new short name for the token'
            cand --description 'A new description'
            cand --scope 'Replace the scopes with these (repeatable)'
            cand --add-scope 'Add a scope (repeatable)'
            cand --remove-scope 'Remove a scope the token has (repeatable)'
            cand --rate-limit 'Replace the rate limits, like 60/min or 10000/day (repeatable)'
            cand --allow-ip 'Replace the IP allow-list with these addresses or CIDRs (repeatable)'
            cand --allow-origin 'Replace the origin allow-list with these origins (repeatable)'
            cand --max-uses 'Accept at most N valid verifies in the token''s life, counting those so far'
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --no-rate-limit 'Remove every rate limit'
            cand --clear-allow-ip 'Remove the IP allow-list: any address may use the token'
            cand --clear-allow-origin 'Remove the origin allow-list: any origin may use the token'
            cand -y 'Do not ask to confirm (required without a terminal)'
            cand --yes 'Do not ask to confirm (required without a terminal)'
            cand --json 'Print the new token''s record plus "token" as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;verify'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --scope 'Require this scope (repeatable; all are required)'
            cand --ip 'The caller''s address, checked against the token''s IP allow-list'
            cand --origin 'The caller''s origin, checked against the token''s origin allow-list'
            cand --user 'Require the token to belong to this user'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand --json 'Print one JSON document, whatever the outcome'
            cand --stream 'Check many tokens, one per line on stdin; one JSON line per token on stdout'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;purge'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --revoked 'Also delete revoked tokens'
            cand --dry-run 'Say what would be deleted, delete nothing'
            cand -q 'Print nothing unless something was purged or went wrong'
            cand --quiet 'Print nothing unless something was purged or went wrong'
            cand --json 'Print {"purged": N, "ids": [...], "dry_run": false}'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;remind'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --within 'Remind this long before expiry (repeatable; default 7d and 1d)'
            cand --json 'Print the reminders as an array of audit events in JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;audit'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --since 'Only events since then: a duration back from now (7d), a date (2026-11-01, UTC) or an RFC 3339 time'
            cand --event 'Only events of this kind (repeatable: any of them)'
            cand --user 'Only events about this user'
            cand --id 'Only events about this token id'
            cand --expect-head 'With --check: fail (exit 12) unless this head, noted earlier, is the log''s head or an earlier head of it'
            cand --json 'Print the events as a JSON array'
            cand --check 'Verify the log is intact and print its head (64 hex digits)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;settings'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --json 'Print the settings as one JSON document'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Change settings; the maximum token lifetime can only be shortened'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tokman;settings;set'= {
            cand --max-lifetime 'A shorter maximum (and default) token lifetime; tokens issued before keep their expiry'
            cand --default-rate-limit 'Replace the rate limits of tokens generated without --rate-limit (repeatable)'
            cand --notify-command 'Run this with `sh -c` after every change, the event as JSON on stdin'
            cand --audit-retention 'How long the audit log keeps events before `purge` drops them'
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --no-default-rate-limit 'Generate tokens without a rate limit unless --rate-limit is given'
            cand --no-notify-command 'Run no notify command'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;settings;help'= {
            cand set 'Change settings; the maximum token lifetime can only be shortened'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tokman;settings;help;set'= {
        }
        &'tokman;settings;help;help'= {
        }
        &'tokman;info'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --json 'Print one JSON document'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;backup'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;copy'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --to 'The new store: a path (or sqlite:PATH) for a new SQLite file, or a postgres:// URL of a database that holds no tokman store yet'
            cand -y 'Copy without asking (on a terminal, copy asks first)'
            cand --yes 'Copy without asking (on a terminal, copy asks first)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;scan'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --staged 'Scan what is staged in the git repository here (what a commit would add)'
            cand --json 'Print one JSON document'
            cand --sarif 'Print SARIF 2.1.0 (for GitHub code scanning and editors)'
            cand --revoke 'Revoke every live token found, with the reason `leaked in FILE`, in one transaction'
            cand -y 'Revoke without asking (required with --revoke when there is no terminal)'
            cand --yes 'Revoke without asking (required with --revoke when there is no terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;serve'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --listen 'Listen on ADDR:PORT (port 0 picks a free one), or on a Unix socket with unix:PATH (mode 0600, or 0660 with --socket-group)'
            cand --trusted-proxy 'Take the client address from X-Forwarded-For or X-Real-IP when the peer is in this network (repeatable; a bare address is one host)'
            cand --socket-group 'Give the Unix socket to this group, mode 0660 (the proxy''s group)'
            cand --limited-status 'The status for a rate-limited token: 403 (what nginx auth_request accepts) or 429'
            cand -q 'No request log on stderr'
            cand --quiet 'No request log on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;key'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add-file 'Write a new key file (mode 0600) and add a slot that it unlocks'
            cand passphrase 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)'
            cand list 'List the slots (never key material)'
            cand remove 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)'
            cand rekey 'Replace the master key: seal everything again, keep only this slot (asks first)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tokman;key;add-file'= {
            cand --label 'A label to recognise the slot by'
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;key;passphrase'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;key;list'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand --json 'Print the slots as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;key;remove'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -y 'Do not ask to confirm (required without a terminal)'
            cand --yes 'Do not ask to confirm (required without a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;key;rekey'= {
            cand --new-key-file 'Also write a new key file (mode 0600) that unlocks the rekeyed store'
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -y 'Do not ask to confirm (required without a terminal)'
            cand --yes 'Do not ask to confirm (required without a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;key;help'= {
            cand add-file 'Write a new key file (mode 0600) and add a slot that it unlocks'
            cand passphrase 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)'
            cand list 'List the slots (never key material)'
            cand remove 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)'
            cand rekey 'Replace the master key: seal everything again, keep only this slot (asks first)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tokman;key;help;add-file'= {
        }
        &'tokman;key;help;passphrase'= {
        }
        &'tokman;key;help;list'= {
        }
        &'tokman;key;help;remove'= {
        }
        &'tokman;key;help;rekey'= {
        }
        &'tokman;key;help;help'= {
        }
        &'tokman;version'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;completions'= {
            cand --store 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]'
            cand --key-file 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable'
            cand --passphrase-file 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tokman;help'= {
            cand init 'Create a store'
            cand generate 'Issue a token for a user (shown once)'
            cand list 'List tokens (never a secret)'
            cand inspect 'Show every field of one token, by id or from the token on stdin'
            cand revoke 'Revoke tokens now, irreversibly'
            cand update 'Change a live token''s settings, keeping its secret'
            cand rotate 'Replace a token: retire it and issue its successor with the same settings'
            cand verify 'Check a token; the exit code says whether it is valid'
            cand purge 'Delete expired tokens (and revoked ones with --revoked)'
            cand remind 'Record and print a reminder for each token about to expire (for cron)'
            cand audit 'Show the audit log, or check that it is intact'
            cand settings 'Show the store''s settings, or change them with `settings set`'
            cand info 'Show what and where the store is, with counts'
            cand backup 'Write a consistent SQLite copy of the store, taken while it is in use'
            cand copy 'Copy the whole store into a new store, SQLite or PostgreSQL'
            cand scan 'Find tokens in files, directories, stdin or staged changes; say whose and whether live'
            cand serve 'Answer auth requests over HTTP, for reverse proxies and services'
            cand key 'Manage the ways to unlock the store'
            cand version 'Print tokman''s version (as `tokman --version` does)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tokman;help;init'= {
        }
        &'tokman;help;generate'= {
        }
        &'tokman;help;list'= {
        }
        &'tokman;help;inspect'= {
        }
        &'tokman;help;revoke'= {
        }
        &'tokman;help;update'= {
        }
        &'tokman;help;rotate'= {
        }
        &'tokman;help;verify'= {
        }
        &'tokman;help;purge'= {
        }
        &'tokman;help;remind'= {
        }
        &'tokman;help;audit'= {
        }
        &'tokman;help;settings'= {
        }
        &'tokman;help;info'= {
        }
        &'tokman;help;backup'= {
        }
        &'tokman;help;copy'= {
        }
        &'tokman;help;scan'= {
        }
        &'tokman;help;serve'= {
        }
        &'tokman;help;key'= {
            cand add-file 'Write a new key file (mode 0600) and add a slot that it unlocks'
            cand passphrase 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)'
            cand list 'List the slots (never key material)'
            cand remove 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)'
            cand rekey 'Replace the master key: seal everything again, keep only this slot (asks first)'
        }
        &'tokman;help;key;add-file'= {
        }
        &'tokman;help;key;passphrase'= {
        }
        &'tokman;help;key;list'= {
        }
        &'tokman;help;key;remove'= {
        }
        &'tokman;help;key;rekey'= {
        }
        &'tokman;help;version'= {
        }
        &'tokman;help;completions'= {
        }
        &'tokman;help;help'= {
        }
    ]
    $completions[$command]
}
