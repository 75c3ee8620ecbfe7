// The module process: serve the DRF allocator to the core that started it.
import { serve } from '@tessera/modules-api';
import { drfModule } from './module';

void serve(drfModule());
