"""The `kluis` command line (entry point `client_sdk.cli.main:main`).

Exit status (`shared.exit_status`): 0 success; 1 what the user can fix: a mistake in what they
typed (naming what they typed), an unknown user or dossier, a wrong passphrase, a server that
cannot be reached, a local file or folder that cannot be read or written (a full disk, a missing
permission: naming the path); 3 only what a lying or broken server could cause: a security check
failed (integrity, signature, key mismatch, rollback, downgrade), named in the message, and then
no output file is written; 70 (EX_SOFTWARE) a bug in Kluis, with a request to report it (the
traceback only with KLUIS_DEBUG=1); 130 interrupted.

Names people type (usernames, organisation names, `@name`) are case-insensitive: A-Z are folded
to a-z before use (client_sdk.typed).

Every command takes `--server URL` (env KLUIS_SERVER) and `--profile DIR` (env KLUIS_PROFILE).
Passphrases come from a prompt, or from env KLUIS_PASSPHRASE or `--passphrase-file`. A new one
(register, passwd, recover) must pass the passphrase rule (docs/format.md section 18), or can be
generated: `--generate-passphrase`, or an empty answer at the prompt.

The modules: `main` builds the app from the command modules (`accounts`, `dossiers`, `sharing`,
`activity`, `export`, `organisations`, `server`, `demo`); `shared` holds the options every
command takes and the error-to-exit-status mapping, `output` the tables, times and consoles,
`passphrases` the prompts, `names` the titles and file names listings show. Start-up time is
part of the design: a command module imports the client and the vault inside its commands, so
`kluis --help` and each command load only what they use (docs/performance.md, "CLI start-up").
"""
