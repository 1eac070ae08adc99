# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_crit_global_optspecs
    string join \n h/help V/version
end

function __fish_crit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_crit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_crit_using_subcommand
    set -l cmd (__fish_crit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c crit -n "__fish_crit_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_needs_command" -s V -l version -d 'Print version'
complete -c crit -n "__fish_crit_needs_command" -f -a "decode" -d 'Convert a binary image to JSON'
complete -c crit -n "__fish_crit_needs_command" -f -a "encode" -d 'Convert JSON (plain or pretty) back to a binary image'
complete -c crit -n "__fish_crit_needs_command" -f -a "info" -d 'Show an image\'s kind and number of entries'
complete -c crit -n "__fish_crit_needs_command" -f -a "inspect" -d 'A checkpoint at a glance: container, checkpoint, process tree (one screen by default)'
complete -c crit -n "__fish_crit_needs_command" -f -a "diff" -d 'Compare two checkpoints: processes, fds, VMAs, memory, files, namespaces, mounts'
complete -c crit -n "__fish_crit_needs_command" -f -a "x" -d 'Explore a checkpoint directory or archive'
complete -c crit -n "__fish_crit_needs_command" -f -a "check" -d 'Check that a checkpoint\'s images are well-formed and agree with each other'
complete -c crit -n "__fish_crit_needs_command" -f -a "mem" -d 'Print the bytes of a task\'s memory at an address (hexdump, raw or JSON)'
complete -c crit -n "__fish_crit_needs_command" -f -a "search" -d 'Find bytes or a regex in the memory of a checkpoint\'s tasks'
complete -c crit -n "__fish_crit_needs_command" -f -a "mem-dump" -d 'Dump a live process\'s memory into CRIU-format pagemap/pages images (bounded memory)'
complete -c crit -n "__fish_crit_needs_command" -f -a "page-server" -d 'Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)'
complete -c crit -n "__fish_crit_needs_command" -f -a "build-id" -d 'Print the ELF build-id of files, as CRIU computes it'
complete -c crit -n "__fish_crit_needs_command" -f -a "checksum" -d 'Print the CRC-32C of files (whole, first N bytes, or every N-th page)'
complete -c crit -n "__fish_crit_needs_command" -f -a "check-files" -d 'Same as `check --files` (kept for scripts)'
complete -c crit -n "__fish_crit_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c crit -n "__fish_crit_needs_command" -f -a "man" -d 'Write the man pages (crit.1 and one per subcommand)'
complete -c crit -n "__fish_crit_needs_command" -f -a "show" -d 'Decode an image with --pretty to stdout'
complete -c crit -n "__fish_crit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crit -n "__fish_crit_using_subcommand decode" -s i -l in -d 'Input image (default and `-`: stdin)' -r -F
complete -c crit -n "__fish_crit_using_subcommand decode" -s o -l out -d 'Output file (default and `-`: stdout)' -r -F
complete -c crit -n "__fish_crit_using_subcommand decode" -l pretty -d 'Multi-line output with crit\'s readable forms (hex, flags, devices, addresses)'
complete -c crit -n "__fish_crit_using_subcommand decode" -s h -l help -d 'Print help'
complete -c crit -n "__fish_crit_using_subcommand encode" -s i -l in -d 'Input JSON (default and `-`: stdin)' -r -F
complete -c crit -n "__fish_crit_using_subcommand encode" -s o -l out -d 'Output image (default and `-`: stdout, which must not be a terminal)' -r -F
complete -c crit -n "__fish_crit_using_subcommand encode" -l ignore-unknown-keys -d 'Ignore keys that are not fields of their message, as CRIU\'s crit does'
complete -c crit -n "__fish_crit_using_subcommand encode" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand info" -s h -l help -d 'Print help'
complete -c crit -n "__fish_crit_using_subcommand inspect" -l section -d 'Show this section (repeatable): container, checkpoint, processes, namespaces, net, mounts, cgroups, stats, files' -r
complete -c crit -n "__fish_crit_using_subcommand inspect" -l max-archive-size -d 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes)' -r
complete -c crit -n "__fish_crit_using_subcommand inspect" -l json -d 'One JSON object instead of text'
complete -c crit -n "__fish_crit_using_subcommand inspect" -l all -d 'Every section, and each process\'s memory breakdown and open files'
complete -c crit -n "__fish_crit_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand diff" -l section -d 'Compare only this section (repeatable): processes, fds, vmas, memory, files, namespaces, mounts' -r
complete -c crit -n "__fish_crit_using_subcommand diff" -l max-archive-size -d 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes)' -r
complete -c crit -n "__fish_crit_using_subcommand diff" -l json -d 'One JSON object instead of text'
complete -c crit -n "__fish_crit_using_subcommand diff" -l no-memory -d 'Do not compare memory contents (the costly part: every page of both checkpoints)'
complete -c crit -n "__fish_crit_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand x" -l max-archive-size -d 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)' -r
complete -c crit -n "__fish_crit_using_subcommand x" -l json -d 'JSON instead of crit\'s text (schema: the `criu_image::explore` docs and the README)'
complete -c crit -n "__fish_crit_using_subcommand x" -l cmdline -d 'ps: add each task\'s command line, read from its memory'
complete -c crit -n "__fish_crit_using_subcommand x" -l env -d 'ps: add each task\'s environment, read from its memory'
complete -c crit -n "__fish_crit_using_subcommand x" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand check" -l max-archive-size -d 'Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)' -r
complete -c crit -n "__fish_crit_using_subcommand check" -l root -d 'With --files: the root the checkpoint\'s paths are relative to (a container\'s rootfs)' -r -F
complete -c crit -n "__fish_crit_using_subcommand check" -l json -d 'JSON instead of lines'
complete -c crit -n "__fish_crit_using_subcommand check" -l no-parent -d 'Do not follow `parent` links to check PE_PARENT pages'
complete -c crit -n "__fish_crit_using_subcommand check" -s q -l quiet -d 'Leave notices out'
complete -c crit -n "__fish_crit_using_subcommand check" -l files -d 'Check the checkpoint\'s regular files against the filesystem instead (size, mode, ELF build-id, checksum): will CRIU\'s restore accept them?'
complete -c crit -n "__fish_crit_using_subcommand check" -l skip-file-rwx-check -d 'With --files: ignore the rwx permission bits, as `criu restore --skip-file-rwx-check`'
complete -c crit -n "__fish_crit_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand mem" -s p -l pid -d 'Task (PID or thread ID); may be left out when the checkpoint has one task' -r
complete -c crit -n "__fish_crit_using_subcommand mem" -s a -l addr -d 'Address, in hex (`0x` optional, as `crit x mems` prints them)' -r
complete -c crit -n "__fish_crit_using_subcommand mem" -s l -l len -d 'Bytes to read: decimal or 0x-hex, with an optional K, M or G suffix (powers of 1024)' -r
complete -c crit -n "__fish_crit_using_subcommand mem" -l raw -d 'Write the bytes as they are'
complete -c crit -n "__fish_crit_using_subcommand mem" -l hexdump -d 'Canonical hex+ASCII dump with addresses, like `hexdump -C` (the default)'
complete -c crit -n "__fish_crit_using_subcommand mem" -l json -d 'One JSON object: pid, address, length, VMA, and the bytes in hex'
complete -c crit -n "__fish_crit_using_subcommand mem" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand search" -s p -l pid -d 'Search only this task (PID or thread ID)' -r
complete -c crit -n "__fish_crit_using_subcommand search" -s C -l context -d 'Bytes of context to show before and after each match' -r
complete -c crit -n "__fish_crit_using_subcommand search" -s m -l max-count -d 'Stop after this many matches' -r
complete -c crit -n "__fish_crit_using_subcommand search" -l regex -d 'PATTERN is a regular expression over bytes (Unicode off: `.` is any byte but \\n)'
complete -c crit -n "__fish_crit_using_subcommand search" -l hex -d 'PATTERN is hex bytes (`deadbeef`, `de ad be ef`)'
complete -c crit -n "__fish_crit_using_subcommand search" -l json -d 'One JSON object per line and match: pid, address, length, VMA, before/match/after in hex'
complete -c crit -n "__fish_crit_using_subcommand search" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -s t -l tree -d 'PID of the process to dump (stop it first, e.g. with SIGSTOP, for a consistent image)' -r
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -s D -l images-dir -d 'Directory to write pagemap-PID.img and pages-ID.img into (created if missing); with --page-server, where the round\'s record is kept (digests of what the server holds)' -r -F
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -l prev -d 'A previous dump: pages whose content equals the parent\'s become PE_PARENT runs, and DIR gets a `parent` link (as `criu dump --prev-images-dir`); relative paths are relative to DIR' -r -F
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -l page-server -d 'Send the pages to the page server at HOST:PORT (`criu page-server` or `crit page-server`) instead of writing images' -r
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -l timeout -d 'With --page-server: seconds to wait for connecting and for each read or write' -r
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -l buffer -d 'Bytes of buffer between the process and the pages file or socket (K, M, G suffixes)' -r
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -l pages-id -d 'The pages image id (pages-ID.img), to drop the images into a CRIU dump' -r
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -l prev-round -d 'With --page-server: an incremental round; pages unchanged since the round recorded in DIR are sent as PE_PARENT (the server must have that round as its parent)'
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -l json -d 'Print the summary as JSON'
complete -c crit -n "__fish_crit_using_subcommand mem-dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand page-server" -s D -l images-dir -d 'Directory to write the images into (created if missing)' -r -F
complete -c crit -n "__fish_crit_using_subcommand page-server" -l address -d 'Address to listen on' -r
complete -c crit -n "__fish_crit_using_subcommand page-server" -l port -d 'Port to listen on (0: any free port; the first line printed says which)' -r
complete -c crit -n "__fish_crit_using_subcommand page-server" -l prev -d 'The previous dump (as `criu page-server --prev-images-dir`, relative to DIR or absolute): DIR gets a `parent` link, and received pages equal to the previous dump\'s are written as PE_PARENT runs instead of into the pages file' -r -F
complete -c crit -n "__fish_crit_using_subcommand page-server" -l buffer -d 'Bytes of page data held at a time (K, M, G suffixes)' -r
complete -c crit -n "__fish_crit_using_subcommand page-server" -l idle-timeout -d 'Give up when the client sends nothing for this many seconds (default: wait, as CRIU does)' -r
complete -c crit -n "__fish_crit_using_subcommand page-server" -l json -d 'Print the summary as JSON'
complete -c crit -n "__fish_crit_using_subcommand page-server" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand build-id" -s v -l verbose -d 'Say on stderr why a file has no build-id'
complete -c crit -n "__fish_crit_using_subcommand build-id" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand checksum" -l first -d 'Only the first N bytes' -r
complete -c crit -n "__fish_crit_using_subcommand checksum" -l every -d 'Only 4 KiB pages 0, N, 2N, ... (N >= 1)' -r
complete -c crit -n "__fish_crit_using_subcommand checksum" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crit -n "__fish_crit_using_subcommand check-files" -l root -d 'The dumped tasks\' root directory as seen from here, e.g. a container\'s rootfs (default /); names are resolved inside it, as after chroot' -r -F
complete -c crit -n "__fish_crit_using_subcommand check-files" -l json -d 'JSON instead of lines'
complete -c crit -n "__fish_crit_using_subcommand check-files" -l skip-file-rwx-check -d 'Ignore the rwx permission bits in the mode comparison, like CRIU\'s option of that name'
complete -c crit -n "__fish_crit_using_subcommand check-files" -s h -l help -d 'Print help'
complete -c crit -n "__fish_crit_using_subcommand completions" -s h -l help -d 'Print help'
complete -c crit -n "__fish_crit_using_subcommand man" -l out -d 'Directory to write every page into' -r -F
complete -c crit -n "__fish_crit_using_subcommand man" -s h -l help -d 'Print help'
complete -c crit -n "__fish_crit_using_subcommand show" -l nopl -d 'Do not show entry payloads (if any)'
complete -c crit -n "__fish_crit_using_subcommand show" -s h -l help -d 'Print help'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "decode" -d 'Convert a binary image to JSON'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "encode" -d 'Convert JSON (plain or pretty) back to a binary image'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "info" -d 'Show an image\'s kind and number of entries'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "inspect" -d 'A checkpoint at a glance: container, checkpoint, process tree (one screen by default)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "diff" -d 'Compare two checkpoints: processes, fds, VMAs, memory, files, namespaces, mounts'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "x" -d 'Explore a checkpoint directory or archive'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "check" -d 'Check that a checkpoint\'s images are well-formed and agree with each other'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "mem" -d 'Print the bytes of a task\'s memory at an address (hexdump, raw or JSON)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "search" -d 'Find bytes or a regex in the memory of a checkpoint\'s tasks'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "mem-dump" -d 'Dump a live process\'s memory into CRIU-format pagemap/pages images (bounded memory)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "page-server" -d 'Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "build-id" -d 'Print the ELF build-id of files, as CRIU computes it'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "checksum" -d 'Print the CRC-32C of files (whole, first N bytes, or every N-th page)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "check-files" -d 'Same as `check --files` (kept for scripts)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "man" -d 'Write the man pages (crit.1 and one per subcommand)'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "show" -d 'Decode an image with --pretty to stdout'
complete -c crit -n "__fish_crit_using_subcommand help; and not __fish_seen_subcommand_from decode encode info inspect diff x check mem search mem-dump page-server build-id checksum check-files completions man show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
