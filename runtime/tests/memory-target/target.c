/*
 * A process with known memory, for the memory tests and benchmarks: it fills regions with
 * patterns the tests can recompute, writes where they are to a "ready" file, and sleeps until
 * it is killed.
 *
 * Usage: target READY FILE BIG_MIB [ARGS...]
 *   READY    where to write "NAME HEXADDR LEN" lines (written to READY.tmp, then renamed)
 *   FILE     a file of at least 4 pages (the test writes it) to map MAP_PRIVATE at offset 4096
 *   BIG_MIB  size of an extra region of xorshift64* bytes (0 for none)
 *
 * Regions (PAGE = 4096):
 *   anon    64 pages, private anonymous: byte i = pat(i), except pages 10-12 never touched (so
 *           not dumped: zeros), "NEEDLE-ACROSS-PAGES" at 30*PAGE-9, and "NEEDLE-ACROSS-VMAS"
 *           at 50*PAGE-7; pages 50-63 are then made read-only, which splits the VMA there
 *   shared  8 pages, MAP_SHARED|MAP_ANONYMOUS: "CRITMEM-SHARED-0" at 0, "CRITMEM-SHARED-5" at
 *           5*PAGE+100, nothing else touched
 *   file    3 pages of FILE from offset PAGE, MAP_PRIVATE: page 0 only read, page 1 starts
 *           with "COW!" (a private copy), page 2 untouched
 *   heap    malloc'ed "CRITMEM-HEAP-STRING"
 *   data    a .data array overwritten with "CRITMEM-DATA-STRING"
 *   big     BIG_MIB MiB private anonymous: xorshift64* (seed 42) words, little endian, with
 *           "CRIT-BENCH-NEEDLE" at 1 MiB - 5 and at the end - 100
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

static char data_str[64] = "CRITMEM-DATA-initial-value";

static unsigned char pat(uint64_t i)
{
	return (unsigned char)((((uint32_t)i * 2654435761u) >> 24) ^ (uint32_t)(i >> 12));
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *ready = argv[1];
	unsigned long big_mib = strtoul(argv[3], NULL, 10);
	volatile unsigned char sink = 0;

	unsigned char *anon = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		die("mmap anon");
	for (uint64_t i = 0; i < 64 * PAGE; i++)
		if (i / PAGE < 10 || i / PAGE > 12)
			anon[i] = pat(i);
	memcpy(anon + 30 * PAGE - 9, "NEEDLE-ACROSS-PAGES", 19);
	memcpy(anon + 50 * PAGE - 7, "NEEDLE-ACROSS-VMAS", 18);
	if (mprotect(anon + 50 * PAGE, 14 * PAGE, PROT_READ))
		die("mprotect");

	unsigned char *shared = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap shared");
	memcpy(shared, "CRITMEM-SHARED-0", 16);
	memcpy(shared + 5 * PAGE + 100, "CRITMEM-SHARED-5", 16);

	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		die("open file");
	unsigned char *file = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
	if (file == MAP_FAILED)
		die("mmap file");
	close(fd);
	sink += file[0];
	memcpy(file + PAGE, "COW!", 4);

	char *heap = malloc(256);
	if (!heap)
		die("malloc");
	strcpy(heap, "CRITMEM-HEAP-STRING");
	strcpy(data_str, "CRITMEM-DATA-STRING");

	unsigned char *big = NULL;
	uint64_t big_len = big_mib << 20;
	if (big_len) {
		big = mmap(NULL, big_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (big == MAP_FAILED)
			die("mmap big");
		uint64_t x = 42;
		for (uint64_t i = 0; i < big_len; i += 8) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			uint64_t w = x * 0x2545F4914F6CDD1DULL;
			memcpy(big + i, &w, 8);
		}
		if (big_len >= (1 << 20))
			memcpy(big + (1 << 20) - 5, "CRIT-BENCH-NEEDLE", 17);
		memcpy(big + big_len - 100, "CRIT-BENCH-NEEDLE", 17);
	}

	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("fopen ready");
	fprintf(f, "pid %lx 0\n", (unsigned long)getpid());
	fprintf(f, "anon %lx %lu\n", (unsigned long)anon, 64 * PAGE);
	fprintf(f, "shared %lx %lu\n", (unsigned long)shared, 8 * PAGE);
	fprintf(f, "file %lx %lu\n", (unsigned long)file, 3 * PAGE);
	fprintf(f, "heap %lx %lu\n", (unsigned long)heap, strlen(heap));
	fprintf(f, "data %lx %lu\n", (unsigned long)data_str, strlen(data_str));
	fprintf(f, "big %lx %lu\n", (unsigned long)big, (unsigned long)big_len);
	if (fclose(f) || rename(tmp, ready))
		die("ready");
	for (;;)
		pause();
}
