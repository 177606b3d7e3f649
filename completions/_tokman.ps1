
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tokman' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tokman'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'tokman' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a store')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Issue a token for a user (shown once)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List tokens (never a secret)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show every field of one token, by id or from the token on stdin')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke tokens now, irreversibly')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a live token''s settings, keeping its secret')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a token: retire it and issue its successor with the same settings')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a token; the exit code says whether it is valid')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete expired tokens (and revoked ones with --revoked)')
            [CompletionResult]::new('remind', 'remind', [CompletionResultType]::ParameterValue, 'Record and print a reminder for each token about to expire (for cron)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit log, or check that it is intact')
            [CompletionResult]::new('settings', 'settings', [CompletionResultType]::ParameterValue, 'Show the store''s settings, or change them with `settings set`')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show what and where the store is, with counts')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Write a consistent SQLite copy of the store, taken while it is in use')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the whole store into a new store, SQLite or PostgreSQL')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Find tokens in files, directories, stdin or staged changes; say whose and whether live')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Answer auth requests over HTTP, for reverse proxies and services')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Manage the ways to unlock the store')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print tokman''s version (as `tokman --version` does)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tokman;init' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Token prefix: a lower-case letter, then up to 15 lower-case letters or digits')
            [CompletionResult]::new('--max-lifetime', '--max-lifetime', [CompletionResultType]::ParameterName, 'Maximum (and default) token lifetime; at most 180d')
            [CompletionResult]::new('--default-rate-limit', '--default-rate-limit', [CompletionResultType]::ParameterName, 'Rate limit for tokens generated without --rate-limit or --no-rate-limit (repeatable)')
            [CompletionResult]::new('--new-key-file', '--new-key-file', [CompletionResultType]::ParameterName, 'Create a new key file (mode 0600) and unlock the store with it instead of a passphrase')
            [CompletionResult]::new('--notify-command', '--notify-command', [CompletionResultType]::ParameterName, 'Run this with `sh -c` after every change (tokens, settings, keys, purge, reminders), the event as JSON on stdin')
            [CompletionResult]::new('--audit-retention', '--audit-retention', [CompletionResultType]::ParameterName, 'How long the audit log keeps events before `purge` drops them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;generate' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A short name for the token')
            [CompletionResult]::new('--description', '--description', [CompletionResultType]::ParameterName, 'What the token is for')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Grant a scope, like posts:read or posts:* (repeatable)')
            [CompletionResult]::new('--expires-in', '--expires-in', [CompletionResultType]::ParameterName, 'Expire sooner than the store''s maximum lifetime (90s, 15m, 12h, 30d, 2w)')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Limit uses, like 60/min or 10000/day; units s, m/min, h, d/day, w/week (repeatable)')
            [CompletionResult]::new('--allow-ip', '--allow-ip', [CompletionResultType]::ParameterName, 'Accept the token only from this address or CIDR (repeatable)')
            [CompletionResult]::new('--allow-origin', '--allow-origin', [CompletionResultType]::ParameterName, 'Accept the token only from this origin, scheme://host[:port] (repeatable)')
            [CompletionResult]::new('--max-uses', '--max-uses', [CompletionResultType]::ParameterName, 'Accept at most N valid verifies in the token''s life (1: a one-time token)')
            [CompletionResult]::new('--no-rate-limit', '--no-rate-limit', [CompletionResultType]::ParameterName, 'No rate limit, even if the store has default limits')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the token record plus "token" as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;list' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only this user''s tokens')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only tokens with this status')
            [CompletionResult]::new('--expiring-within', '--expiring-within', [CompletionResultType]::ParameterName, 'Only active tokens that expire within this time')
            [CompletionResult]::new('--unused-for', '--unused-for', [CompletionResultType]::ParameterName, 'Only tokens never used, or last used longer ago than this')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'The order to show them in; ties go by creation time, then id')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show only the first N tokens, in the --sort order')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print an array of token records as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;inspect' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the token record as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;revoke' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Revoke this user''s active token')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why, for the record')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the revoked token''s record as JSON (an array of records for several ids)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;update' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Change this user''s active token')
            [CompletionResult]::new('--expires-in', '--expires-in', [CompletionResultType]::ParameterName, 'Expire this long from now; only ever sooner than the token''s expiry')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A new short name for the token')
            [CompletionResult]::new('--description', '--description', [CompletionResultType]::ParameterName, 'A new description')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Replace the scopes with these (repeatable)')
            [CompletionResult]::new('--add-scope', '--add-scope', [CompletionResultType]::ParameterName, 'Add a scope (repeatable)')
            [CompletionResult]::new('--remove-scope', '--remove-scope', [CompletionResultType]::ParameterName, 'Remove a scope the token has (repeatable)')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Replace the rate limits, like 60/min or 10000/day (repeatable)')
            [CompletionResult]::new('--allow-ip', '--allow-ip', [CompletionResultType]::ParameterName, 'Replace the IP allow-list with these addresses or CIDRs (repeatable)')
            [CompletionResult]::new('--allow-origin', '--allow-origin', [CompletionResultType]::ParameterName, 'Replace the origin allow-list with these origins (repeatable)')
            [CompletionResult]::new('--max-uses', '--max-uses', [CompletionResultType]::ParameterName, 'Accept at most N valid verifies in the token''s life, counting those so far')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--no-rate-limit', '--no-rate-limit', [CompletionResultType]::ParameterName, 'Remove every rate limit')
            [CompletionResult]::new('--clear-allow-ip', '--clear-allow-ip', [CompletionResultType]::ParameterName, 'Remove the IP allow-list: any address may use the token')
            [CompletionResult]::new('--clear-allow-origin', '--clear-allow-origin', [CompletionResultType]::ParameterName, 'Remove the origin allow-list: any origin may use the token')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask to confirm a change that widens access (required for one without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask to confirm a change that widens access (required for one without a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the changed token''s record as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;rotate' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Rotate this user''s active token')
            [CompletionResult]::new('--expires-in', '--expires-in', [CompletionResultType]::ParameterName, 'Lifetime of the successor (default: the original''s, within the store''s maximum)')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'Keep the old token valid this much longer (at most 24h and its remaining life)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A new short name for the token')
            [CompletionResult]::new('--description', '--description', [CompletionResultType]::ParameterName, 'A new description')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Replace the scopes with these (repeatable)')
            [CompletionResult]::new('--add-scope', '--add-scope', [CompletionResultType]::ParameterName, 'Add a scope (repeatable)')
            [CompletionResult]::new('--remove-scope', '--remove-scope', [CompletionResultType]::ParameterName, 'Remove a scope the token has (repeatable)')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Replace the rate limits, like 60/min or 10000/day (repeatable)')
            [CompletionResult]::new('--allow-ip', '--allow-ip', [CompletionResultType]::ParameterName, 'Replace the IP allow-list with these addresses or CIDRs (repeatable)')
            [CompletionResult]::new('--allow-origin', '--allow-origin', [CompletionResultType]::ParameterName, 'Replace the origin allow-list with these origins (repeatable)')
            [CompletionResult]::new('--max-uses', '--max-uses', [CompletionResultType]::ParameterName, 'Accept at most N valid verifies in the token''s life, counting those so far')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--no-rate-limit', '--no-rate-limit', [CompletionResultType]::ParameterName, 'Remove every rate limit')
            [CompletionResult]::new('--clear-allow-ip', '--clear-allow-ip', [CompletionResultType]::ParameterName, 'Remove the IP allow-list: any address may use the token')
            [CompletionResult]::new('--clear-allow-origin', '--clear-allow-origin', [CompletionResultType]::ParameterName, 'Remove the origin allow-list: any origin may use the token')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the new token''s record plus "token" as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;verify' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Require this scope (repeatable; all are required)')
            [CompletionResult]::new('--ip', '--ip', [CompletionResultType]::ParameterName, 'The caller''s address, checked against the token''s IP allow-list')
            [CompletionResult]::new('--origin', '--origin', [CompletionResultType]::ParameterName, 'The caller''s origin, checked against the token''s origin allow-list')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Require the token to belong to this user')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document, whatever the outcome')
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'Check many tokens, one per line on stdin; one JSON line per token on stdout')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;purge' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--revoked', '--revoked', [CompletionResultType]::ParameterName, 'Also delete revoked tokens')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would be deleted, delete nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something was purged or went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something was purged or went wrong')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print {"purged": N, "ids": [...], "dry_run": false}')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;remind' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--within', '--within', [CompletionResultType]::ParameterName, 'Remind this long before expiry (repeatable; default 7d and 1d)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the reminders as an array of audit events in JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;audit' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events since then: a duration back from now (7d), a date (2026-11-01, UTC) or an RFC 3339 time')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Only events of this kind (repeatable: any of them)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only events about this user')
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'Only events about this token id')
            [CompletionResult]::new('--expect-head', '--expect-head', [CompletionResultType]::ParameterName, 'With --check: fail (exit 12) unless this head, noted earlier, is the log''s head or an earlier head of it')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the events as a JSON array')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Verify the log is intact and print its head (64 hex digits)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;settings' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the settings as one JSON document')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Change settings; the maximum token lifetime can only be shortened')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tokman;settings;set' {
            [CompletionResult]::new('--max-lifetime', '--max-lifetime', [CompletionResultType]::ParameterName, 'A shorter maximum (and default) token lifetime; tokens issued before keep their expiry')
            [CompletionResult]::new('--default-rate-limit', '--default-rate-limit', [CompletionResultType]::ParameterName, 'Replace the rate limits of tokens generated without --rate-limit (repeatable)')
            [CompletionResult]::new('--notify-command', '--notify-command', [CompletionResultType]::ParameterName, 'Run this with `sh -c` after every change, the event as JSON on stdin')
            [CompletionResult]::new('--audit-retention', '--audit-retention', [CompletionResultType]::ParameterName, 'How long the audit log keeps events before `purge` drops them')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--no-default-rate-limit', '--no-default-rate-limit', [CompletionResultType]::ParameterName, 'Generate tokens without a rate limit unless --rate-limit is given')
            [CompletionResult]::new('--no-notify-command', '--no-notify-command', [CompletionResultType]::ParameterName, 'Run no notify command')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;settings;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Change settings; the maximum token lifetime can only be shortened')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tokman;settings;help;set' {
            break
        }
        'tokman;settings;help;help' {
            break
        }
        'tokman;info' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;backup' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;copy' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The new store: a path (or sqlite:PATH) for a new SQLite file, or a postgres:// URL of a database that holds no tokman store yet')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Copy without asking (on a terminal, copy asks first)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Copy without asking (on a terminal, copy asks first)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;scan' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--staged', '--staged', [CompletionResultType]::ParameterName, 'Scan what is staged in the git repository here (what a commit would add)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document')
            [CompletionResult]::new('--sarif', '--sarif', [CompletionResultType]::ParameterName, 'Print SARIF 2.1.0 (for GitHub code scanning and editors)')
            [CompletionResult]::new('--revoke', '--revoke', [CompletionResultType]::ParameterName, 'Revoke every live token found, with the reason `leaked in FILE`, in one transaction')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Revoke without asking (required with --revoke when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Revoke without asking (required with --revoke when there is no terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;serve' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Listen on ADDR:PORT (port 0 picks a free one), or on a Unix socket with unix:PATH (mode 0600, or 0660 with --socket-group)')
            [CompletionResult]::new('--trusted-proxy', '--trusted-proxy', [CompletionResultType]::ParameterName, 'Take the client address from X-Forwarded-For or X-Real-IP when the peer is in this network (repeatable; a bare address is one host)')
            [CompletionResult]::new('--socket-group', '--socket-group', [CompletionResultType]::ParameterName, 'Give the Unix socket to this group, mode 0660 (the proxy''s group)')
            [CompletionResult]::new('--limited-status', '--limited-status', [CompletionResultType]::ParameterName, 'The status for a rate-limited token: 403 (what nginx auth_request accepts) or 429')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No request log on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No request log on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;key' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add-file', 'add-file', [CompletionResultType]::ParameterValue, 'Write a new key file (mode 0600) and add a slot that it unlocks')
            [CompletionResult]::new('passphrase', 'passphrase', [CompletionResultType]::ParameterValue, 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the slots (never key material)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Replace the master key: seal everything again, keep only this slot (asks first)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tokman;key;add-file' {
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A label to recognise the slot by')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;key;passphrase' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;key;list' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the slots as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;key;remove' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;key;rekey' {
            [CompletionResult]::new('--new-key-file', '--new-key-file', [CompletionResultType]::ParameterName, 'Also write a new key file (mode 0600) that unlocks the rekeyed store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask to confirm (required without a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;key;help' {
            [CompletionResult]::new('add-file', 'add-file', [CompletionResultType]::ParameterValue, 'Write a new key file (mode 0600) and add a slot that it unlocks')
            [CompletionResult]::new('passphrase', 'passphrase', [CompletionResultType]::ParameterValue, 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the slots (never key material)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Replace the master key: seal everything again, keep only this slot (asks first)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tokman;key;help;add-file' {
            break
        }
        'tokman;key;help;passphrase' {
            break
        }
        'tokman;key;help;list' {
            break
        }
        'tokman;key;help;remove' {
            break
        }
        'tokman;key;help;rekey' {
            break
        }
        'tokman;key;help;help' {
            break
        }
        'tokman;version' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;completions' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: a SQLite file''s path (or sqlite:PATH), or a postgres:// URL (password from PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats TOKMAN_KEY_FILE and every other unlock variable')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and every other unlock variable')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tokman;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a store')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Issue a token for a user (shown once)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List tokens (never a secret)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show every field of one token, by id or from the token on stdin')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke tokens now, irreversibly')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a live token''s settings, keeping its secret')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a token: retire it and issue its successor with the same settings')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a token; the exit code says whether it is valid')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete expired tokens (and revoked ones with --revoked)')
            [CompletionResult]::new('remind', 'remind', [CompletionResultType]::ParameterValue, 'Record and print a reminder for each token about to expire (for cron)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit log, or check that it is intact')
            [CompletionResult]::new('settings', 'settings', [CompletionResultType]::ParameterValue, 'Show the store''s settings, or change them with `settings set`')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show what and where the store is, with counts')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Write a consistent SQLite copy of the store, taken while it is in use')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the whole store into a new store, SQLite or PostgreSQL')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Find tokens in files, directories, stdin or staged changes; say whose and whether live')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Answer auth requests over HTTP, for reverse proxies and services')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Manage the ways to unlock the store')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print tokman''s version (as `tokman --version` does)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tokman;help;init' {
            break
        }
        'tokman;help;generate' {
            break
        }
        'tokman;help;list' {
            break
        }
        'tokman;help;inspect' {
            break
        }
        'tokman;help;revoke' {
            break
        }
        'tokman;help;update' {
            break
        }
        'tokman;help;rotate' {
            break
        }
        'tokman;help;verify' {
            break
        }
        'tokman;help;purge' {
            break
        }
        'tokman;help;remind' {
            break
        }
        'tokman;help;audit' {
            break
        }
        'tokman;help;settings' {
            break
        }
        'tokman;help;info' {
            break
        }
        'tokman;help;backup' {
            break
        }
        'tokman;help;copy' {
            break
        }
        'tokman;help;scan' {
            break
        }
        'tokman;help;serve' {
            break
        }
        'tokman;help;key' {
            [CompletionResult]::new('add-file', 'add-file', [CompletionResultType]::ParameterValue, 'Write a new key file (mode 0600) and add a slot that it unlocks')
            [CompletionResult]::new('passphrase', 'passphrase', [CompletionResultType]::ParameterValue, 'Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the slots (never key material)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a slot; its key file or passphrase no longer unlocks the store (asks first)')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Replace the master key: seal everything again, keep only this slot (asks first)')
            break
        }
        'tokman;help;key;add-file' {
            break
        }
        'tokman;help;key;passphrase' {
            break
        }
        'tokman;help;key;list' {
            break
        }
        'tokman;help;key;remove' {
            break
        }
        'tokman;help;key;rekey' {
            break
        }
        'tokman;help;version' {
            break
        }
        'tokman;help;completions' {
            break
        }
        'tokman;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
