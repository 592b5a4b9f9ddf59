/* mock.h: `flurry mock`, a local API that misbehaves on request. */
#ifndef FLURRY_MOCK_H
#define FLURRY_MOCK_H

/* argv[0] is "mock". Returns the process exit status (0, or 2 on bad usage). */
int cli_mock_main(int argc, char **argv);

#endif
