#ifndef HK_PROTO_H
#define HK_PROTO_H
#endif
