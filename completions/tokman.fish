# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tokman_global_optspecs
    string join \n store= key-file= passphrase-file= h/help V/version
end

function __fish_tokman_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tokman_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tokman_using_subcommand
    set -l cmd (__fish_tokman_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tokman -n "__fish_tokman_needs_command" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_needs_command" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_needs_command" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tokman -n "__fish_tokman_needs_command" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "init" -d 'Create a store'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "generate" -d 'Issue a token for a user (shown once)'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "list" -d 'List tokens (never a secret)'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "inspect" -d 'Show every field of one token, by id or from the token on stdin'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "revoke" -d 'Revoke tokens now, irreversibly'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "update" -d 'Change a live token\'s settings, keeping its secret'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "rotate" -d 'Replace a token: retire it and issue its successor with the same settings'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "verify" -d 'Check a token; the exit code says whether it is valid'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "purge" -d 'Delete expired tokens (and revoked ones with --revoked)'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "remind" -d 'Record and print a reminder for each token about to expire (for cron)'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "audit" -d 'Show the audit log, or check that it is intact'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "settings" -d 'Show the store\'s settings, or change them with `settings set`'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "info" -d 'Show what and where the store is, with counts'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "backup" -d 'Write a consistent SQLite copy of the store, taken while it is in use'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "copy" -d 'Copy the whole store into a new store, SQLite or PostgreSQL'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "scan" -d 'Find tokens in files, directories, stdin or staged changes; say whose and whether live'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "serve" -d 'Answer auth requests over HTTP, for reverse proxies and services'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "key" -d 'Manage the ways to unlock the store'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "version" -d 'Print tokman\'s version (as `tokman --version` does)'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c tokman -n "__fish_tokman_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tokman -n "__fish_tokman_using_subcommand init" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand init" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand init" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand init" -l prefix -d 'Token prefix: a lower-case letter, then up to 15 lower-case letters or digits' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand init" -l max-lifetime -d 'Maximum (and default) token lifetime; at most 180d' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand init" -l default-rate-limit -d 'Rate limit for tokens generated without --rate-limit or --no-rate-limit (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand init" -l new-key-file -d 'Create a new key file (mode 0600) and unlock the store with it instead of a passphrase' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand init" -l notify-command -d 'Run this with `sh -c` after every change (tokens, settings, keys, purge, reminders), the event as JSON on stdin' -r
complete -c tokman -n "__fish_tokman_using_subcommand init" -l audit-retention -d 'How long the audit log keeps events before `purge` drops them' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand init" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand init" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l name -d 'A short name for the token' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l description -d 'What the token is for' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l scope -d 'Grant a scope, like posts:read or posts:* (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l expires-in -d 'Expire sooner than the store\'s maximum lifetime (90s, 15m, 12h, 30d, 2w)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l rate-limit -d 'Limit uses, like 60/min or 10000/day; units s, m/min, h, d/day, w/week (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l allow-ip -d 'Accept the token only from this address or CIDR (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l allow-origin -d 'Accept the token only from this origin, scheme://host[:port] (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l max-uses -d 'Accept at most N valid verifies in the token\'s life (1: a one-time token)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l no-rate-limit -d 'No rate limit, even if the store has default limits'
complete -c tokman -n "__fish_tokman_using_subcommand generate" -l json -d 'Print the token record plus "token" as JSON'
complete -c tokman -n "__fish_tokman_using_subcommand generate" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand generate" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand list" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand list" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand list" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand list" -l user -d 'Only this user\'s tokens' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand list" -l status -d 'Only tokens with this status' -r -f -a "active\t''
rotating\t'Rotated, still valid until its grace ends'
expired\t''
revoked\t''
all\t''"
complete -c tokman -n "__fish_tokman_using_subcommand list" -l expiring-within -d 'Only active tokens that expire within this time' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand list" -l unused-for -d 'Only tokens never used, or last used longer ago than this' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand list" -l sort -d 'The order to show them in; ties go by creation time, then id' -r -f -a "created\t'Oldest first'
expires\t'Soonest expiry first'
last-used\t'Most recently used first, never used last'
user\t'By user name, ignoring case'"
complete -c tokman -n "__fish_tokman_using_subcommand list" -l limit -d 'Show only the first N tokens, in the --sort order' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand list" -l json -d 'Print an array of token records as JSON'
complete -c tokman -n "__fish_tokman_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tokman -n "__fish_tokman_using_subcommand list" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand inspect" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand inspect" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand inspect" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand inspect" -l json -d 'Print the token record as JSON'
complete -c tokman -n "__fish_tokman_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -l user -d 'Revoke this user\'s active token' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -l reason -d 'Why, for the record' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -s y -l yes -d 'Do not ask to confirm (required without a terminal)'
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -l json -d 'Print the revoked token\'s record as JSON (an array of records for several ids)'
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand update" -l user -d 'Change this user\'s active token' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l expires-in -d 'Expire this long from now; only ever sooner than the token\'s expiry' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l name -d 'A new short name for the token' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l description -d 'A new description' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l scope -d 'Replace the scopes with these (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l add-scope -d 'Add a scope (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l remove-scope -d 'Remove a scope the token has (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l rate-limit -d 'Replace the rate limits, like 60/min or 10000/day (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l allow-ip -d 'Replace the IP allow-list with these addresses or CIDRs (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l allow-origin -d 'Replace the origin allow-list with these origins (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l max-uses -d 'Accept at most N valid verifies in the token\'s life, counting those so far' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand update" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand update" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand update" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand update" -l no-rate-limit -d 'Remove every rate limit'
complete -c tokman -n "__fish_tokman_using_subcommand update" -l clear-allow-ip -d 'Remove the IP allow-list: any address may use the token'
complete -c tokman -n "__fish_tokman_using_subcommand update" -l clear-allow-origin -d 'Remove the origin allow-list: any origin may use the token'
complete -c tokman -n "__fish_tokman_using_subcommand update" -s y -l yes -d 'Do not ask to confirm a change that widens access (required for one without a terminal)'
complete -c tokman -n "__fish_tokman_using_subcommand update" -l json -d 'Print the changed token\'s record as JSON'
complete -c tokman -n "__fish_tokman_using_subcommand update" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand update" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l user -d 'Rotate this user\'s active token' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l expires-in -d 'Lifetime of the successor (default: the original\'s, within the store\'s maximum)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l grace -d 'Keep the old token valid this much longer (at most 24h and its remaining life)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l name -d 'A new short name for the token' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l description -d 'A new description' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l scope -d 'Replace the scopes with these (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l add-scope -d 'Add a scope (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l remove-scope -d 'Remove a scope the token has (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l rate-limit -d 'Replace the rate limits, like 60/min or 10000/day (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l allow-ip -d 'Replace the IP allow-list with these addresses or CIDRs (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l allow-origin -d 'Replace the origin allow-list with these origins (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l max-uses -d 'Accept at most N valid verifies in the token\'s life, counting those so far' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l no-rate-limit -d 'Remove every rate limit'
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l clear-allow-ip -d 'Remove the IP allow-list: any address may use the token'
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l clear-allow-origin -d 'Remove the origin allow-list: any origin may use the token'
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -s y -l yes -d 'Do not ask to confirm (required without a terminal)'
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -l json -d 'Print the new token\'s record plus "token" as JSON'
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand rotate" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l scope -d 'Require this scope (repeatable; all are required)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l ip -d 'The caller\'s address, checked against the token\'s IP allow-list' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l origin -d 'The caller\'s origin, checked against the token\'s origin allow-list' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l user -d 'Require the token to belong to this user' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand verify" -s q -l quiet -d 'Print nothing; the exit code says it all'
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l json -d 'Print one JSON document, whatever the outcome'
complete -c tokman -n "__fish_tokman_using_subcommand verify" -l stream -d 'Check many tokens, one per line on stdin; one JSON line per token on stdout'
complete -c tokman -n "__fish_tokman_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tokman -n "__fish_tokman_using_subcommand verify" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand purge" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand purge" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand purge" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand purge" -l revoked -d 'Also delete revoked tokens'
complete -c tokman -n "__fish_tokman_using_subcommand purge" -l dry-run -d 'Say what would be deleted, delete nothing'
complete -c tokman -n "__fish_tokman_using_subcommand purge" -s q -l quiet -d 'Print nothing unless something was purged or went wrong'
complete -c tokman -n "__fish_tokman_using_subcommand purge" -l json -d 'Print {"purged": N, "ids": [...], "dry_run": false}'
complete -c tokman -n "__fish_tokman_using_subcommand purge" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand purge" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand remind" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand remind" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand remind" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand remind" -l within -d 'Remind this long before expiry (repeatable; default 7d and 1d)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand remind" -l json -d 'Print the reminders as an array of audit events in JSON'
complete -c tokman -n "__fish_tokman_using_subcommand remind" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand remind" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l since -d 'Only events since then: a duration back from now (7d), a date (2026-11-01, UTC) or an RFC 3339 time' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l event -d 'Only events of this kind (repeatable: any of them)' -r -f -a "init\t''
generate\t''
rotate\t''
revoke\t''
purge\t''
key_add\t''
key_remove\t''
key_passphrase\t''
verify_refused\t''
update\t''
expiring\t''
settings\t''
rekey\t''
upgrade\t''
copy\t''"
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l user -d 'Only events about this user' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l id -d 'Only events about this token id' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l expect-head -d 'With --check: fail (exit 12) unless this head, noted earlier, is the log\'s head or an earlier head of it' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l json -d 'Print the events as a JSON array'
complete -c tokman -n "__fish_tokman_using_subcommand audit" -l check -d 'Verify the log is intact and print its head (64 hex digits)'
complete -c tokman -n "__fish_tokman_using_subcommand audit" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand audit" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -l json -d 'Print the settings as one JSON document'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -f -a "set" -d 'Change settings; the maximum token lifetime can only be shortened'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and not __fish_seen_subcommand_from set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l max-lifetime -d 'A shorter maximum (and default) token lifetime; tokens issued before keep their expiry' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l default-rate-limit -d 'Replace the rate limits of tokens generated without --rate-limit (repeatable)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l notify-command -d 'Run this with `sh -c` after every change, the event as JSON on stdin' -r
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l audit-retention -d 'How long the audit log keeps events before `purge` drops them' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l no-default-rate-limit -d 'Generate tokens without a rate limit unless --rate-limit is given'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -l no-notify-command -d 'Run no notify command'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change settings; the maximum token lifetime can only be shortened'
complete -c tokman -n "__fish_tokman_using_subcommand settings; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tokman -n "__fish_tokman_using_subcommand info" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand info" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand info" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand info" -l json -d 'Print one JSON document'
complete -c tokman -n "__fish_tokman_using_subcommand info" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand info" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand backup" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand backup" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand backup" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand backup" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand backup" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand copy" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand copy" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand copy" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand copy" -l to -d 'The new store: a path (or sqlite:PATH) for a new SQLite file, or a postgres:// URL of a database that holds no tokman store yet' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand copy" -s y -l yes -d 'Copy without asking (on a terminal, copy asks first)'
complete -c tokman -n "__fish_tokman_using_subcommand copy" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand copy" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand scan" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand scan" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand scan" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand scan" -l staged -d 'Scan what is staged in the git repository here (what a commit would add)'
complete -c tokman -n "__fish_tokman_using_subcommand scan" -l json -d 'Print one JSON document'
complete -c tokman -n "__fish_tokman_using_subcommand scan" -l sarif -d 'Print SARIF 2.1.0 (for GitHub code scanning and editors)'
complete -c tokman -n "__fish_tokman_using_subcommand scan" -l revoke -d 'Revoke every live token found, with the reason `leaked in FILE`, in one transaction'
complete -c tokman -n "__fish_tokman_using_subcommand scan" -s y -l yes -d 'Revoke without asking (required with --revoke when there is no terminal)'
complete -c tokman -n "__fish_tokman_using_subcommand scan" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand scan" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand serve" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand serve" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand serve" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand serve" -l listen -d 'Listen on ADDR:PORT (port 0 picks a free one), or on a Unix socket with unix:PATH (mode 0600, or 0660 with --socket-group)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand serve" -l trusted-proxy -d 'Take the client address from X-Forwarded-For or X-Real-IP when the peer is in this network (repeatable; a bare address is one host)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand serve" -l socket-group -d 'Give the Unix socket to this group, mode 0660 (the proxy\'s group)' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand serve" -l limited-status -d 'The status for a rate-limited token: 403 (what nginx auth_request accepts) or 429' -r -f -a "403\t''
429\t''"
complete -c tokman -n "__fish_tokman_using_subcommand serve" -s q -l quiet -d 'No request log on stderr'
complete -c tokman -n "__fish_tokman_using_subcommand serve" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand serve" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -f -a "add-file" -d 'Write a new key file (mode 0600) and add a slot that it unlocks'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -f -a "passphrase" -d 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -f -a "list" -d 'List the slots (never key material)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -f -a "remove" -d 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -f -a "rekey" -d 'Replace the master key: seal everything again, keep only this slot (asks first)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and not __fish_seen_subcommand_from add-file passphrase list remove rekey help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from add-file" -l label -d 'A label to recognise the slot by' -r -f
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from add-file" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from add-file" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from add-file" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from add-file" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from add-file" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from passphrase" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from passphrase" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from passphrase" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from passphrase" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from passphrase" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from list" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from list" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from list" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from list" -l json -d 'Print the slots as JSON'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from remove" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from remove" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from remove" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from remove" -s y -l yes -d 'Do not ask to confirm (required without a terminal)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from rekey" -l new-key-file -d 'Also write a new key file (mode 0600) that unlocks the rekeyed store' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from rekey" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from rekey" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from rekey" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from rekey" -s y -l yes -d 'Do not ask to confirm (required without a terminal)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from rekey" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from rekey" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "add-file" -d 'Write a new key file (mode 0600) and add a slot that it unlocks'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "passphrase" -d 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the slots (never key material)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "rekey" -d 'Replace the master key: seal everything again, keep only this slot (asks first)'
complete -c tokman -n "__fish_tokman_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tokman -n "__fish_tokman_using_subcommand version" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand version" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand version" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand version" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand version" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand completions" -l store -d 'The store: a SQLite file\'s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand completions" -l key-file -d 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand completions" -l passphrase-file -d 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable' -r -F
complete -c tokman -n "__fish_tokman_using_subcommand completions" -s h -l help -d 'Print help'
complete -c tokman -n "__fish_tokman_using_subcommand completions" -s V -l version -d 'Print version'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "init" -d 'Create a store'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "generate" -d 'Issue a token for a user (shown once)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "list" -d 'List tokens (never a secret)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "inspect" -d 'Show every field of one token, by id or from the token on stdin'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "revoke" -d 'Revoke tokens now, irreversibly'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "update" -d 'Change a live token\'s settings, keeping its secret'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "rotate" -d 'Replace a token: retire it and issue its successor with the same settings'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "verify" -d 'Check a token; the exit code says whether it is valid'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "purge" -d 'Delete expired tokens (and revoked ones with --revoked)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "remind" -d 'Record and print a reminder for each token about to expire (for cron)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "audit" -d 'Show the audit log, or check that it is intact'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "settings" -d 'Show the store\'s settings, or change them with `settings set`'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "info" -d 'Show what and where the store is, with counts'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "backup" -d 'Write a consistent SQLite copy of the store, taken while it is in use'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "copy" -d 'Copy the whole store into a new store, SQLite or PostgreSQL'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "scan" -d 'Find tokens in files, directories, stdin or staged changes; say whose and whether live'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "serve" -d 'Answer auth requests over HTTP, for reverse proxies and services'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "key" -d 'Manage the ways to unlock the store'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "version" -d 'Print tokman\'s version (as `tokman --version` does)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c tokman -n "__fish_tokman_using_subcommand help; and not __fish_seen_subcommand_from init generate list inspect revoke update rotate verify purge remind audit settings info backup copy scan serve key version completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "add-file" -d 'Write a new key file (mode 0600) and add a slot that it unlocks'
complete -c tokman -n "__fish_tokman_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "passphrase" -d 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "list" -d 'List the slots (never key material)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "remove" -d 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)'
complete -c tokman -n "__fish_tokman_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "rekey" -d 'Replace the master key: seal everything again, keep only this slot (asks first)'
