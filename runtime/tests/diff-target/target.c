/*
 * A process that changes known things between two dumps, for the diff tests
 * (runtime/tests/diff.rs).
 *
 * Usage: target DIR   (DIR is its working directory; DIR/sub must exist)
 *
 * Before DIR/go exists:
 *   REGION  16 pages of private anonymous memory between two PROT_NONE guard pages (so that it
 *           merges with no neighbour): page i holds the byte i + 1, except page 12, never
 *           touched (not dumped), and page 14, written and then zeroed (a private page of zeros,
 *           which CRIU dumps)
 *   fds     3: DIR/a (position 0), 4: DIR/b, 5: DIR/c
 *   then writes "REGION-ADDRESS-IN-HEX\n" to DIR/ready (through a rename) and polls for DIR/go.
 *
 * After DIR/go:
 *   pages 3 and 7 are filled with 0xa3 and 0xa7, page 12 with 0xac, page 5 with zeros (four
 *   pages whose contents change); page 1 is rewritten with the bytes it holds, and page 14 is
 *   dropped with MADV_DONTNEED (zeros either way: no change); page 15 is made read-only, which
 *   splits the VMA; fd 3 is moved to position 100; DIR/new is opened (fd 6) and 5 bytes are
 *   written to it; fd 5 is closed; the working directory becomes DIR/sub. Then it writes
 *   DIR/done and sleeps until killed.
 *
 * Nothing here allocates (no stdio, no malloc), so no other mapping changes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

static void die(const char *what)
{
	write(2, what, strlen(what));
	_exit(1);
}

static int open_in(const char *dir, const char *name, int flags)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, flags, 0644);
	if (fd < 0)
		die(path);
	return fd;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char tmp[4096], path[4096];
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) || rename(tmp, path))
		die(path);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const char *dir = argv[1];
	unsigned char *base = mmap(NULL, 18 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		die("mmap");
	unsigned char *region = base + PAGE;
	if (mprotect(region, 16 * PAGE, PROT_READ | PROT_WRITE))
		die("mprotect");
	for (int i = 0; i < 16; i++)
		if (i != 12)
			memset(region + i * PAGE, i + 1, PAGE);
	memset(region + 14 * PAGE, 0, PAGE);

	if (open_in(dir, "a", O_RDWR | O_CREAT) != 3 || open_in(dir, "b", O_RDWR | O_CREAT) != 4 ||
	    open_in(dir, "c", O_RDWR | O_CREAT) != 5)
		die("fds 3, 4, 5 were not free");

	char text[64];
	snprintf(text, sizeof(text), "%lx\n", (unsigned long)region);
	write_file(dir, "ready", text);

	char go[4096];
	snprintf(go, sizeof(go), "%s/go", dir);
	while (access(go, F_OK) != 0)
		usleep(10000);

	memset(region + 3 * PAGE, 0xa3, PAGE);
	memset(region + 7 * PAGE, 0xa7, PAGE);
	memset(region + 12 * PAGE, 0xac, PAGE);
	memset(region + 5 * PAGE, 0, PAGE);
	memset(region + 1 * PAGE, 2, PAGE);
	if (madvise(region + 14 * PAGE, PAGE, MADV_DONTNEED))
		die("madvise");
	if (mprotect(region + 15 * PAGE, PAGE, PROT_READ))
		die("mprotect page 15");
	if (lseek(3, 100, SEEK_SET) != 100)
		die("lseek");
	int fd = open_in(dir, "new", O_RDWR | O_CREAT | O_TRUNC);
	if (fd != 6 || write(fd, "hello", 5) != 5)
		die("fd 6");
	close(5);
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	if (chdir(sub))
		die("chdir");
	write_file(dir, "done", "1\n");
	for (;;)
		pause();
}
