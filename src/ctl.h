#ifndef HK_CTL_H
#define HK_CTL_H
#endif
