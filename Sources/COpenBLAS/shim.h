// Debian installs OpenBLAS's cblas.h as an alternative under /usr/include/<triple>/;
// the generic name resolves to it once libopenblas-dev is installed.
#include <cblas.h>
// Not part of the CBLAS standard, exported by OpenBLAS itself.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
