/* being written */
int hk_client_placeholder(void);
int hk_client_placeholder(void) { return 0; }
