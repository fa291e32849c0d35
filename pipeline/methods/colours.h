/* colours.h: the class colours the methods share (Okabe-Ito: distinguishable with the
 * common colour-vision deficiencies). */
#ifndef GD_METHODS_COLOURS_H
#define GD_METHODS_COLOURS_H
#define VERMILLION {213, 94, 0}
#define BLUE {0, 114, 178}
#define GREEN {0, 158, 115}
#define SKY {86, 180, 233}
#define NOCOLOUR {0, 0, 0}
#endif
