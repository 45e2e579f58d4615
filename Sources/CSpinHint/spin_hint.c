// SwiftPM builds a C target from its sources; the one function is inline in the header.
#include "spin_hint.h"
