#ifndef HK_STORE_H
#define HK_STORE_H
#endif
