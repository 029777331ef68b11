#ifndef HK_CLIENT_H
#define HK_CLIENT_H
#endif
