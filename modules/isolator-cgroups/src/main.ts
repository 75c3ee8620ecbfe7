// The module process: serve the cgroups isolator to the core that started it.
import { serve } from '@tessera/modules-api';
import { cgroupsModule } from './module';

void serve(cgroupsModule());
