
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'crit' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'crit'
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
        'crit' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('decode', 'decode', [CompletionResultType]::ParameterValue, 'Convert a binary image to JSON')
            [CompletionResult]::new('encode', 'encode', [CompletionResultType]::ParameterValue, 'Convert JSON (plain or pretty) back to a binary image')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show an image''s kind and number of entries')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'A checkpoint at a glance: container, checkpoint, process tree (one screen by default)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare two checkpoints: processes, fds, VMAs, memory, files, namespaces, mounts')
            [CompletionResult]::new('x', 'x', [CompletionResultType]::ParameterValue, 'Explore a checkpoint directory or archive')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check that a checkpoint''s images are well-formed and agree with each other')
            [CompletionResult]::new('mem', 'mem', [CompletionResultType]::ParameterValue, 'Print the bytes of a task''s memory at an address (hexdump, raw or JSON)')
            [CompletionResult]::new('search', 'search', [CompletionResultType]::ParameterValue, 'Find bytes or a regex in the memory of a checkpoint''s tasks')
            [CompletionResult]::new('mem-dump', 'mem-dump', [CompletionResultType]::ParameterValue, 'Dump a live process''s memory into CRIU-format pagemap/pages images (bounded memory)')
            [CompletionResult]::new('page-server', 'page-server', [CompletionResultType]::ParameterValue, 'Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)')
            [CompletionResult]::new('build-id', 'build-id', [CompletionResultType]::ParameterValue, 'Print the ELF build-id of files, as CRIU computes it')
            [CompletionResult]::new('checksum', 'checksum', [CompletionResultType]::ParameterValue, 'Print the CRC-32C of files (whole, first N bytes, or every N-th page)')
            [CompletionResult]::new('check-files', 'check-files', [CompletionResultType]::ParameterValue, 'Same as `check --files` (kept for scripts)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (crit.1 and one per subcommand)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Decode an image with --pretty to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crit;decode' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Input image (default and `-`: stdin)')
            [CompletionResult]::new('--in', '--in', [CompletionResultType]::ParameterName, 'Input image (default and `-`: stdin)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output file (default and `-`: stdout)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Output file (default and `-`: stdout)')
            [CompletionResult]::new('--pretty', '--pretty', [CompletionResultType]::ParameterName, 'Multi-line output with crit''s readable forms (hex, flags, devices, addresses)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'crit;encode' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Input JSON (default and `-`: stdin)')
            [CompletionResult]::new('--in', '--in', [CompletionResultType]::ParameterName, 'Input JSON (default and `-`: stdin)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output image (default and `-`: stdout, which must not be a terminal)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Output image (default and `-`: stdout, which must not be a terminal)')
            [CompletionResult]::new('--ignore-unknown-keys', '--ignore-unknown-keys', [CompletionResultType]::ParameterName, 'Ignore keys that are not fields of their message, as CRIU''s crit does')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;info' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'crit;inspect' {
            [CompletionResult]::new('--section', '--section', [CompletionResultType]::ParameterName, 'Show this section (repeatable): container, checkpoint, processes, namespaces, net, mounts, cgroups, stats, files')
            [CompletionResult]::new('--max-archive-size', '--max-archive-size', [CompletionResultType]::ParameterName, 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object instead of text')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every section, and each process''s memory breakdown and open files')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;diff' {
            [CompletionResult]::new('--section', '--section', [CompletionResultType]::ParameterName, 'Compare only this section (repeatable): processes, fds, vmas, memory, files, namespaces, mounts')
            [CompletionResult]::new('--max-archive-size', '--max-archive-size', [CompletionResultType]::ParameterName, 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object instead of text')
            [CompletionResult]::new('--no-memory', '--no-memory', [CompletionResultType]::ParameterName, 'Do not compare memory contents (the costly part: every page of both checkpoints)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;x' {
            [CompletionResult]::new('--max-archive-size', '--max-archive-size', [CompletionResultType]::ParameterName, 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON instead of crit''s text (schema: the `criu_image::explore` docs and the README)')
            [CompletionResult]::new('--cmdline', '--cmdline', [CompletionResultType]::ParameterName, 'ps: add each task''s command line, read from its memory')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'ps: add each task''s environment, read from its memory')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;check' {
            [CompletionResult]::new('--max-archive-size', '--max-archive-size', [CompletionResultType]::ParameterName, 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'With --files: the root the checkpoint''s paths are relative to (a container''s rootfs)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON instead of lines')
            [CompletionResult]::new('--no-parent', '--no-parent', [CompletionResultType]::ParameterName, 'Do not follow `parent` links to check PE_PARENT pages')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Leave notices out')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Leave notices out')
            [CompletionResult]::new('--files', '--files', [CompletionResultType]::ParameterName, 'Check the checkpoint''s regular files against the filesystem instead (size, mode, ELF build-id, checksum): will CRIU''s restore accept them?')
            [CompletionResult]::new('--skip-file-rwx-check', '--skip-file-rwx-check', [CompletionResultType]::ParameterName, 'With --files: ignore the rwx permission bits, as `criu restore --skip-file-rwx-check`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;mem' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Task (PID or thread ID); may be left out when the checkpoint has one task')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Task (PID or thread ID); may be left out when the checkpoint has one task')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Address, in hex (`0x` optional, as `crit x mems` prints them)')
            [CompletionResult]::new('--addr', '--addr', [CompletionResultType]::ParameterName, 'Address, in hex (`0x` optional, as `crit x mems` prints them)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Bytes to read: decimal or 0x-hex, with an optional K, M or G suffix (powers of 1024)')
            [CompletionResult]::new('--len', '--len', [CompletionResultType]::ParameterName, 'Bytes to read: decimal or 0x-hex, with an optional K, M or G suffix (powers of 1024)')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Write the bytes as they are')
            [CompletionResult]::new('--hexdump', '--hexdump', [CompletionResultType]::ParameterName, 'Canonical hex+ASCII dump with addresses, like `hexdump -C` (the default)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object: pid, address, length, VMA, and the bytes in hex')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;search' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Search only this task (PID or thread ID)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Search only this task (PID or thread ID)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Bytes of context to show before and after each match')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Bytes of context to show before and after each match')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Stop after this many matches')
            [CompletionResult]::new('--max-count', '--max-count', [CompletionResultType]::ParameterName, 'Stop after this many matches')
            [CompletionResult]::new('--regex', '--regex', [CompletionResultType]::ParameterName, 'PATTERN is a regular expression over bytes (Unicode off: `.` is any byte but \n)')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'PATTERN is hex bytes (`deadbeef`, `de ad be ef`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line and match: pid, address, length, VMA, before/match/after in hex')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;mem-dump' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'PID of the process to dump (stop it first, e.g. with SIGSTOP, for a consistent image)')
            [CompletionResult]::new('--tree', '--tree', [CompletionResultType]::ParameterName, 'PID of the process to dump (stop it first, e.g. with SIGSTOP, for a consistent image)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Directory to write pagemap-PID.img and pages-ID.img into (created if missing); with --page-server, where the round''s record is kept (digests of what the server holds)')
            [CompletionResult]::new('--images-dir', '--images-dir', [CompletionResultType]::ParameterName, 'Directory to write pagemap-PID.img and pages-ID.img into (created if missing); with --page-server, where the round''s record is kept (digests of what the server holds)')
            [CompletionResult]::new('--prev', '--prev', [CompletionResultType]::ParameterName, 'A previous dump: pages whose content equals the parent''s become PE_PARENT runs, and DIR gets a `parent` link (as `criu dump --prev-images-dir`); relative paths are relative to DIR')
            [CompletionResult]::new('--page-server', '--page-server', [CompletionResultType]::ParameterName, 'Send the pages to the page server at HOST:PORT (`criu page-server` or `crit page-server`) instead of writing images')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'With --page-server: seconds to wait for connecting and for each read or write')
            [CompletionResult]::new('--buffer', '--buffer', [CompletionResultType]::ParameterName, 'Bytes of buffer between the process and the pages file or socket (K, M, G suffixes)')
            [CompletionResult]::new('--pages-id', '--pages-id', [CompletionResultType]::ParameterName, 'The pages image id (pages-ID.img), to drop the images into a CRIU dump')
            [CompletionResult]::new('--prev-round', '--prev-round', [CompletionResultType]::ParameterName, 'With --page-server: an incremental round; pages unchanged since the round recorded in DIR are sent as PE_PARENT (the server must have that round as its parent)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;page-server' {
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Directory to write the images into (created if missing)')
            [CompletionResult]::new('--images-dir', '--images-dir', [CompletionResultType]::ParameterName, 'Directory to write the images into (created if missing)')
            [CompletionResult]::new('--address', '--address', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (0: any free port; the first line printed says which)')
            [CompletionResult]::new('--prev', '--prev', [CompletionResultType]::ParameterName, 'The previous dump (as `criu page-server --prev-images-dir`, relative to DIR or absolute): DIR gets a `parent` link, and received pages equal to the previous dump''s are written as PE_PARENT runs instead of into the pages file')
            [CompletionResult]::new('--buffer', '--buffer', [CompletionResultType]::ParameterName, 'Bytes of page data held at a time (K, M, G suffixes)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Give up when the client sends nothing for this many seconds (default: wait, as CRIU does)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;build-id' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr why a file has no build-id')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr why a file has no build-id')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;checksum' {
            [CompletionResult]::new('--first', '--first', [CompletionResultType]::ParameterName, 'Only the first N bytes')
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Only 4 KiB pages 0, N, 2N, ... (N >= 1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'crit;check-files' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'The dumped tasks'' root directory as seen from here, e.g. a container''s rootfs (default /); names are resolved inside it, as after chroot')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON instead of lines')
            [CompletionResult]::new('--skip-file-rwx-check', '--skip-file-rwx-check', [CompletionResultType]::ParameterName, 'Ignore the rwx permission bits in the mode comparison, like CRIU''s option of that name')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'crit;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'crit;man' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory to write every page into')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'crit;show' {
            [CompletionResult]::new('--nopl', '--nopl', [CompletionResultType]::ParameterName, 'Do not show entry payloads (if any)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'crit;help' {
            [CompletionResult]::new('decode', 'decode', [CompletionResultType]::ParameterValue, 'Convert a binary image to JSON')
            [CompletionResult]::new('encode', 'encode', [CompletionResultType]::ParameterValue, 'Convert JSON (plain or pretty) back to a binary image')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show an image''s kind and number of entries')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'A checkpoint at a glance: container, checkpoint, process tree (one screen by default)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare two checkpoints: processes, fds, VMAs, memory, files, namespaces, mounts')
            [CompletionResult]::new('x', 'x', [CompletionResultType]::ParameterValue, 'Explore a checkpoint directory or archive')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check that a checkpoint''s images are well-formed and agree with each other')
            [CompletionResult]::new('mem', 'mem', [CompletionResultType]::ParameterValue, 'Print the bytes of a task''s memory at an address (hexdump, raw or JSON)')
            [CompletionResult]::new('search', 'search', [CompletionResultType]::ParameterValue, 'Find bytes or a regex in the memory of a checkpoint''s tasks')
            [CompletionResult]::new('mem-dump', 'mem-dump', [CompletionResultType]::ParameterValue, 'Dump a live process''s memory into CRIU-format pagemap/pages images (bounded memory)')
            [CompletionResult]::new('page-server', 'page-server', [CompletionResultType]::ParameterValue, 'Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)')
            [CompletionResult]::new('build-id', 'build-id', [CompletionResultType]::ParameterValue, 'Print the ELF build-id of files, as CRIU computes it')
            [CompletionResult]::new('checksum', 'checksum', [CompletionResultType]::ParameterValue, 'Print the CRC-32C of files (whole, first N bytes, or every N-th page)')
            [CompletionResult]::new('check-files', 'check-files', [CompletionResultType]::ParameterValue, 'Same as `check --files` (kept for scripts)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (crit.1 and one per subcommand)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Decode an image with --pretty to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crit;help;decode' {
            break
        }
        'crit;help;encode' {
            break
        }
        'crit;help;info' {
            break
        }
        'crit;help;inspect' {
            break
        }
        'crit;help;diff' {
            break
        }
        'crit;help;x' {
            break
        }
        'crit;help;check' {
            break
        }
        'crit;help;mem' {
            break
        }
        'crit;help;search' {
            break
        }
        'crit;help;mem-dump' {
            break
        }
        'crit;help;page-server' {
            break
        }
        'crit;help;build-id' {
            break
        }
        'crit;help;checksum' {
            break
        }
        'crit;help;check-files' {
            break
        }
        'crit;help;completions' {
            break
        }
        'crit;help;man' {
            break
        }
        'crit;help;show' {
            break
        }
        'crit;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
