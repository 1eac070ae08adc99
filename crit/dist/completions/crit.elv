
use builtin;
use str;

set edit:completion:arg-completer[crit] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'crit'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'crit'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand decode 'Convert a binary image to JSON'
            cand encode 'Convert JSON (plain or pretty) back to a binary image'
            cand info 'Show an image''s kind and number of entries'
            cand inspect 'A checkpoint at a glance: container, checkpoint, process tree (one screen by default)'
            cand diff 'Compare two checkpoints: processes, fds, VMAs, memory, files, namespaces, mounts'
            cand x 'Explore a checkpoint directory or archive'
            cand check 'Check that a checkpoint''s images are well-formed and agree with each other'
            cand mem 'Print the bytes of a task''s memory at an address (hexdump, raw or JSON)'
            cand search 'Find bytes or a regex in the memory of a checkpoint''s tasks'
            cand mem-dump 'Dump a live process''s memory into CRIU-format pagemap/pages images (bounded memory)'
            cand page-server 'Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)'
            cand build-id 'Print the ELF build-id of files, as CRIU computes it'
            cand checksum 'Print the CRC-32C of files (whole, first N bytes, or every N-th page)'
            cand check-files 'Same as `check --files` (kept for scripts)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Write the man pages (crit.1 and one per subcommand)'
            cand show 'Decode an image with --pretty to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crit;decode'= {
            cand -i 'Input image (default and `-`: stdin)'
            cand --in 'Input image (default and `-`: stdin)'
            cand -o 'Output file (default and `-`: stdout)'
            cand --out 'Output file (default and `-`: stdout)'
            cand --pretty 'Multi-line output with crit''s readable forms (hex, flags, devices, addresses)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'crit;encode'= {
            cand -i 'Input JSON (default and `-`: stdin)'
            cand --in 'Input JSON (default and `-`: stdin)'
            cand -o 'Output image (default and `-`: stdout, which must not be a terminal)'
            cand --out 'Output image (default and `-`: stdout, which must not be a terminal)'
            cand --ignore-unknown-keys 'Ignore keys that are not fields of their message, as CRIU''s crit does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;info'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'crit;inspect'= {
            cand --section 'Show this section (repeatable): container, checkpoint, processes, namespaces, net, mounts, cgroups, stats, files'
            cand --max-archive-size 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes)'
            cand --json 'One JSON object instead of text'
            cand --all 'Every section, and each process''s memory breakdown and open files'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;diff'= {
            cand --section 'Compare only this section (repeatable): processes, fds, vmas, memory, files, namespaces, mounts'
            cand --max-archive-size 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes)'
            cand --json 'One JSON object instead of text'
            cand --no-memory 'Do not compare memory contents (the costly part: every page of both checkpoints)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;x'= {
            cand --max-archive-size 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)'
            cand --json 'JSON instead of crit''s text (schema: the `criu_image::explore` docs and the README)'
            cand --cmdline 'ps: add each task''s command line, read from its memory'
            cand --env 'ps: add each task''s environment, read from its memory'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;check'= {
            cand --max-archive-size 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)'
            cand --root 'With --files: the root the checkpoint''s paths are relative to (a container''s rootfs)'
            cand --json 'JSON instead of lines'
            cand --no-parent 'Do not follow `parent` links to check PE_PARENT pages'
            cand -q 'Leave notices out'
            cand --quiet 'Leave notices out'
            cand --files 'Check the checkpoint''s regular files against the filesystem instead (size, mode, ELF build-id, checksum): will CRIU''s restore accept them?'
            cand --skip-file-rwx-check 'With --files: ignore the rwx permission bits, as `criu restore --skip-file-rwx-check`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;mem'= {
            cand -p 'Task (PID or thread ID); may be left out when the checkpoint has one task'
            cand --pid 'Task (PID or thread ID); may be left out when the checkpoint has one task'
            cand -a 'Address, in hex (`0x` optional, as `crit x mems` prints them)'
            cand --addr 'Address, in hex (`0x` optional, as `crit x mems` prints them)'
            cand -l 'Bytes to read: decimal or 0x-hex, with an optional K, M or G suffix (powers of 1024)'
            cand --len 'Bytes to read: decimal or 0x-hex, with an optional K, M or G suffix (powers of 1024)'
            cand --raw 'Write the bytes as they are'
            cand --hexdump 'Canonical hex+ASCII dump with addresses, like `hexdump -C` (the default)'
            cand --json 'One JSON object: pid, address, length, VMA, and the bytes in hex'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;search'= {
            cand -p 'Search only this task (PID or thread ID)'
            cand --pid 'Search only this task (PID or thread ID)'
            cand -C 'Bytes of context to show before and after each match'
            cand --context 'Bytes of context to show before and after each match'
            cand -m 'Stop after this many matches'
            cand --max-count 'Stop after this many matches'
            cand --regex 'PATTERN is a regular expression over bytes (Unicode off: `.` is any byte but \n)'
            cand --hex 'PATTERN is hex bytes (`deadbeef`, `de ad be ef`)'
            cand --json 'One JSON object per line and match: pid, address, length, VMA, before/match/after in hex'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;mem-dump'= {
            cand -t 'PID of the process to dump (stop it first, e.g. with SIGSTOP, for a consistent image)'
            cand --tree 'PID of the process to dump (stop it first, e.g. with SIGSTOP, for a consistent image)'
            cand -D 'Directory to write pagemap-PID.img and pages-ID.img into (created if missing); with --page-server, where the round''s record is kept (digests of what the server holds)'
            cand --images-dir 'Directory to write pagemap-PID.img and pages-ID.img into (created if missing); with --page-server, where the round''s record is kept (digests of what the server holds)'
            cand --prev 'A previous dump: pages whose content equals the parent''s become PE_PARENT runs, and DIR gets a `parent` link (as `criu dump --prev-images-dir`); relative paths are relative to DIR'
            cand --page-server 'Send the pages to the page server at HOST:PORT (`criu page-server` or `crit page-server`) instead of writing images'
            cand --timeout 'With --page-server: seconds to wait for connecting and for each read or write'
            cand --buffer 'Bytes of buffer between the process and the pages file or socket (K, M, G suffixes)'
            cand --pages-id 'The pages image id (pages-ID.img), to drop the images into a CRIU dump'
            cand --prev-round 'With --page-server: an incremental round; pages unchanged since the round recorded in DIR are sent as PE_PARENT (the server must have that round as its parent)'
            cand --json 'Print the summary as JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;page-server'= {
            cand -D 'Directory to write the images into (created if missing)'
            cand --images-dir 'Directory to write the images into (created if missing)'
            cand --address 'Address to listen on'
            cand --port 'Port to listen on (0: any free port; the first line printed says which)'
            cand --prev 'The previous dump (as `criu page-server --prev-images-dir`, relative to DIR or absolute): DIR gets a `parent` link, and received pages equal to the previous dump''s are written as PE_PARENT runs instead of into the pages file'
            cand --buffer 'Bytes of page data held at a time (K, M, G suffixes)'
            cand --idle-timeout 'Give up when the client sends nothing for this many seconds (default: wait, as CRIU does)'
            cand --json 'Print the summary as JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;build-id'= {
            cand -v 'Say on stderr why a file has no build-id'
            cand --verbose 'Say on stderr why a file has no build-id'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;checksum'= {
            cand --first 'Only the first N bytes'
            cand --every 'Only 4 KiB pages 0, N, 2N, ... (N >= 1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'crit;check-files'= {
            cand --root 'The dumped tasks'' root directory as seen from here, e.g. a container''s rootfs (default /); names are resolved inside it, as after chroot'
            cand --json 'JSON instead of lines'
            cand --skip-file-rwx-check 'Ignore the rwx permission bits in the mode comparison, like CRIU''s option of that name'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'crit;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'crit;man'= {
            cand --out 'Directory to write every page into'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'crit;show'= {
            cand --nopl 'Do not show entry payloads (if any)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'crit;help'= {
            cand decode 'Convert a binary image to JSON'
            cand encode 'Convert JSON (plain or pretty) back to a binary image'
            cand info 'Show an image''s kind and number of entries'
            cand inspect 'A checkpoint at a glance: container, checkpoint, process tree (one screen by default)'
            cand diff 'Compare two checkpoints: processes, fds, VMAs, memory, files, namespaces, mounts'
            cand x 'Explore a checkpoint directory or archive'
            cand check 'Check that a checkpoint''s images are well-formed and agree with each other'
            cand mem 'Print the bytes of a task''s memory at an address (hexdump, raw or JSON)'
            cand search 'Find bytes or a regex in the memory of a checkpoint''s tasks'
            cand mem-dump 'Dump a live process''s memory into CRIU-format pagemap/pages images (bounded memory)'
            cand page-server 'Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)'
            cand build-id 'Print the ELF build-id of files, as CRIU computes it'
            cand checksum 'Print the CRC-32C of files (whole, first N bytes, or every N-th page)'
            cand check-files 'Same as `check --files` (kept for scripts)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Write the man pages (crit.1 and one per subcommand)'
            cand show 'Decode an image with --pretty to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'crit;help;decode'= {
        }
        &'crit;help;encode'= {
        }
        &'crit;help;info'= {
        }
        &'crit;help;inspect'= {
        }
        &'crit;help;diff'= {
        }
        &'crit;help;x'= {
        }
        &'crit;help;check'= {
        }
        &'crit;help;mem'= {
        }
        &'crit;help;search'= {
        }
        &'crit;help;mem-dump'= {
        }
        &'crit;help;page-server'= {
        }
        &'crit;help;build-id'= {
        }
        &'crit;help;checksum'= {
        }
        &'crit;help;check-files'= {
        }
        &'crit;help;completions'= {
        }
        &'crit;help;man'= {
        }
        &'crit;help;show'= {
        }
        &'crit;help;help'= {
        }
    ]
    $completions[$command]
}
