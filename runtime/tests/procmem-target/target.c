/*
 * procmem-target: a process whose memory is known, for runtime/tests/procmem.rs and the procmem
 * benchmark's CRIU comparisons. It checks its own memory, so a restored copy can say whether
 * the images it was restored from were right.
 *
 *   procmem-target DIR BIG_KIB SEED
 *
 * Memory it sets up (addresses go to DIR/addrs, one "name start length" per line):
 *   big       BIG_KIB of private anonymous memory, MADV_HUGEPAGE, every byte from xorshift64(SEED);
 *   holes     64 pages, MADV_NOHUGEPAGE; page i: i%4==0 written, ==1 only read (the zero page),
 *             ==2 never touched, ==3 written with zeroes (a present page that is all zero);
 *   file      DIR/mapped.bin (16 pages) mapped MAP_PRIVATE, all read, every other page written;
 *   protnone  4 written pages, then mprotect(PROT_NONE);
 *   locked    4 written pages, mlock()ed (CRIU never marks them lazy).
 *
 * Then it writes DIR/ready and waits for signals:
 *   SIGUSR1  recompute the checksum of all of the above and write DIR/verdict:
 *            "ok SUM" or "bad SUM WANT";
 *   SIGUSR2  rewrite every 16th page of big (from index 5) and page 1 of file with new bytes,
 *            update the expected checksum, write DIR/mutated: the generation number.
 * All output files are written to a temporary name and renamed, so readers never see half.
 * stdio is not used after setup; no file descriptor stays open, so CRIU can dump and restore it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

static char dir[4096];
static uint8_t *big, *holes, *file, *protnone, *locked;
static size_t big_len;
static const size_t holes_len = 64 * PAGE, file_len = 16 * PAGE, protnone_len = 4 * PAGE, locked_len = 4 * PAGE;
static volatile uint64_t want;
static volatile sig_atomic_t got_usr1, got_usr2;
static uint64_t generation;

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t s = seed | 1;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = xs(&s);
		memcpy(p + i, &v, 8);
	}
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t checksum(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv(h, big, big_len);
	h = fnv(h, holes, holes_len);
	h = fnv(h, file, file_len);
	mprotect(protnone, protnone_len, PROT_READ);
	h = fnv(h, protnone, protnone_len);
	mprotect(protnone, protnone_len, PROT_NONE);
	h = fnv(h, locked, locked_len);
	return h;
}

static void put(const char *name, const char *text)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		_exit(3);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		_exit(3);
	close(fd);
	rename(tmp, path);
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	return p;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_usr2 = 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s DIR BIG_KIB SEED\n", argv[0]);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	big_len = strtoull(argv[2], NULL, 10) * 1024;
	uint64_t seed = strtoull(argv[3], NULL, 10);

	big = anon(big_len);
	madvise(big, big_len, MADV_HUGEPAGE);
	fill(big, big_len, seed);

	holes = anon(holes_len);
	madvise(holes, holes_len, MADV_NOHUGEPAGE);
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < 64; i++) {
		uint8_t *pg = holes + i * PAGE;
		switch (i % 4) {
		case 0: fill(pg, PAGE, seed + i); break;
		case 1: sink += pg[7]; break;
		case 2: break;
		case 3: memset(pg, 0, PAGE); break;
		}
	}

	char path[4200];
	snprintf(path, sizeof(path), "%s/mapped.bin", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 2;
	uint8_t *content = malloc(file_len);
	fill(content, file_len, seed ^ 0xf11e);
	if (write(fd, content, file_len) != (ssize_t)file_len)
		return 2;
	free(content);
	file = mmap(NULL, file_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		return 2;
	close(fd);
	for (size_t i = 0; i < 16; i++) {
		sink += file[i * PAGE + 1];
		if (i % 2 == 0)
			file[i * PAGE + 100] ^= 0x5a;
	}

	protnone = anon(protnone_len);
	fill(protnone, protnone_len, seed ^ 0xdead);
	mprotect(protnone, protnone_len, PROT_NONE);

	locked = anon(locked_len);
	fill(locked, locked_len, seed ^ 0x10c);
	mlock(locked, locked_len);

	want = checksum();

	char text[1024];
	snprintf(text, sizeof(text), "big %lu %zu\nholes %lu %zu\nfile %lu %zu\nprotnone %lu %zu\nlocked %lu %zu\n",
		 (unsigned long)big, big_len, (unsigned long)holes, holes_len, (unsigned long)file, file_len,
		 (unsigned long)protnone, protnone_len, (unsigned long)locked, locked_len);
	put("addrs", text);

	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	put("ready", "1\n");

	for (;;) {
		sigsuspend(&old);
		if (got_usr2) {
			got_usr2 = 0;
			generation++;
			for (size_t i = 5; i < big_len / PAGE; i += 16)
				fill(big + i * PAGE, PAGE, seed * 31 + generation * 1000003 + i);
			fill(file + PAGE, PAGE, seed + generation);
			want = checksum();
			snprintf(text, sizeof(text), "%lu\n", (unsigned long)generation);
			put("mutated", text);
		}
		if (got_usr1) {
			got_usr1 = 0;
			uint64_t sum = checksum();
			if (sum == want)
				snprintf(text, sizeof(text), "ok %016lx\n", (unsigned long)sum);
			else
				snprintf(text, sizeof(text), "bad %016lx %016lx\n", (unsigned long)sum, (unsigned long)want);
			put("verdict", text);
		}
	}
}
