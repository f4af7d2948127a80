/* The main() of a standalone seed program; SEED names the seed (see seed.h).
 * Returning from main() runs exit(), which waits for non-daemon weft threads. */
#define SEED_CAT2(a, b) a##b
#define SEED_CAT(a, b) SEED_CAT2(a, b)

int SEED_CAT(seed_, SEED)(void);

int main(void)
{
    return SEED_CAT(seed_, SEED)();
}
