#include "ctest.h"
int main(void){return 0;}
